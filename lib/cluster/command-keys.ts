import { ClusterError } from '../errors/redis-pool.errors';
import type { RedisArgument, RedisReply } from '../protocol/resp.types';
import {
  BEGIN_INDEX,
  FIND_RANGE,
  INTEGER,
  NO_TIPS,
  commandPlan,
  text,
  type CommandPlan,
  type CommandTips,
  type KeySpec,
} from './command-specs';

export type { CommandTips } from './command-specs';

/** Options of {@link CommandKeyTable.fromCommandReply}. */
export interface CommandKeyTableOptions {
  /**
   * Also return the arguments of key specs flagged `not_key`: in Redis 7.0 the shard channels of SPUBLISH,
   * SSUBSCRIBE and SUNSUBSCRIBE, which a cluster routes by hash slot like keys. `COMMAND GETKEYS` leaves them
   * out, and so does the table by default.
   * @default false
   */
  includeNotKeys?: boolean;
}

/** A command name as callers pass it, resolved once: `'get'`, `'XGROUP CREATE'`... */
interface ResolvedName {
  readonly plan: CommandPlan;
  /** The words of the name; the arguments follow them in the command's argument vector. */
  readonly words: readonly string[];
  /** Whether the subcommand is still to be read from the first argument (`'XGROUP'`, `['CREATE', ...]`). */
  readonly byFirstArgument: boolean;
}

/** Bounds on cached spellings, so arbitrary names cannot grow the table forever. */
const MAX_CACHED_NAMES = 2048;
const MAX_SUBCOMMAND_SPELLINGS = 256;

/**
 * Which arguments of a command are keys, whether it is read-only and how a cluster routes it, all read from the
 * server's `COMMAND` reply: Redis 7 key specs (`index` or `keyword` begin search, `range` or `keynum` find keys,
 * as https://redis.io/docs/reference/key-specs/ describes them), or before Redis 7 the first key, last key and
 * step. Subcommands (`XGROUP CREATE`, `OBJECT ENCODING`) have entries of their own.
 *
 * Commands are named as callers pass them: `'GET'`, `'get'`, `'XGROUP CREATE'` with the arguments after the
 * subcommand, or `'XGROUP'` with the subcommand as the first argument. Unknown commands have no keys.
 */
export class CommandKeyTable {
  private readonly names = new Map<string, ResolvedName>();
  private readonly commands = new Map<string, CommandPlan>();
  private cachedNames = 0;

  private constructor() {}

  /**
   * Builds the table from a `COMMAND` reply in either protocol: key specs as flat field lists (RESP2) or maps
   * (RESP3). Entries it cannot read are skipped, and so are key specs of kinds it does not know.
   * @throws ClusterError when the reply is not a list of commands.
   */
  static fromCommandReply(
    reply: RedisReply,
    options: CommandKeyTableOptions = {},
  ): CommandKeyTable {
    if (!Array.isArray(reply)) throw new ClusterError('Malformed COMMAND reply: not an array');
    const includeNotKeys = options.includeNotKeys ?? false;
    const table = new CommandKeyTable();
    for (const entry of reply) {
      const name = text(Array.isArray(entry) ? entry[0] : undefined)?.toUpperCase();
      const plan = commandPlan(entry, includeNotKeys);
      if (name === undefined || plan === undefined) continue;
      table.commands.set(name, plan);
      const resolved = { plan, words: [name], byFirstArgument: plan.subcommands !== undefined };
      table.names.set(name, resolved);
      table.names.set(name.toLowerCase(), { ...resolved, words: [name.toLowerCase()] });
    }
    return table;
  }

  /**
   * The key arguments of a command, in the order of its key specs: the very values passed, not copies. `[]` for
   * commands without keys and unknown ones. Allocates nothing but the returned array.
   */
  keys(command: string, args: readonly RedisArgument[]): RedisArgument[] {
    const name = this.resolve(command);
    if (name === undefined) return [];
    const plan = this.planOf(name, args);
    const { words } = name;
    if (plan.fixedKey >= 0) {
      const key = argumentAt(words, args, plan.fixedKey);
      return key === undefined ? [] : [key];
    }
    const keys: RedisArgument[] = [];
    for (const spec of plan.specs) {
      if (!locate(spec, words, args)) continue;
      for (let i = span.first; i <= span.last; i += span.step)
        keys.push(argumentAt(words, args, i)!);
    }
    return keys;
  }

  /** The first of {@link CommandKeyTable.keys}, without building the list. */
  firstKey(command: string, args: readonly RedisArgument[]): RedisArgument | undefined {
    const name = this.resolve(command);
    if (name === undefined) return undefined;
    const plan = this.planOf(name, args);
    if (plan.fixedKey >= 0) return argumentAt(name.words, args, plan.fixedKey);
    for (const spec of plan.specs) {
      if (locate(spec, name.words, args)) return argumentAt(name.words, args, span.first);
    }
    return undefined;
  }

  /** The command's (or subcommand's) request and response policies; `{}` when it has none or is unknown. */
  tips(command: string, args: readonly RedisArgument[]): CommandTips {
    return this.plan(command, args)?.tips ?? NO_TIPS;
  }

  /** Whether the command (or subcommand) carries the `readonly` flag; `false` when unknown. */
  isReadOnly(command: string, args: readonly RedisArgument[]): boolean {
    return this.plan(command, args)?.readOnly ?? false;
  }

  /**
   * Whether {@link CommandKeyTable.keys} is known to name exactly the server's keys. It is not when a key spec
   * is `unknown` or flagged `incomplete` (in Redis 7.0: SORT and SORT_RO, whose STORE key it misses, and
   * MIGRATE, where it also returns the `""` placeholder before KEYS), for `movablekeys` commands of servers
   * before Redis 7, and for unknown commands; ask `COMMAND GETKEYS` when every key matters.
   */
  keysAreComplete(command: string, args: readonly RedisArgument[]): boolean {
    return this.plan(command, args)?.complete ?? false;
  }

  private plan(command: string, args: readonly RedisArgument[]): CommandPlan | undefined {
    const name = this.resolve(command);
    return name === undefined ? undefined : this.planOf(name, args);
  }

  private planOf(name: ResolvedName, args: readonly RedisArgument[]): CommandPlan {
    return name.byFirstArgument ? this.subcommand(name.plan, args[0]) : name.plan;
  }

  private resolve(command: string): ResolvedName | undefined {
    const cached = this.names.get(command);
    if (cached !== undefined) return cached;
    const words = command.indexOf(' ') === -1 ? [command] : command.split(' ').filter(Boolean);
    if (words.length === 0) return undefined;
    let plan = this.commands.get(words[0].toUpperCase());
    if (plan === undefined) return undefined;
    if (words.length > 1) plan = plan.subcommands?.get(words[1].toUpperCase()) ?? plan;
    const resolved: ResolvedName = {
      plan,
      words,
      byFirstArgument: words.length === 1 && plan.subcommands !== undefined,
    };
    if (this.cachedNames < MAX_CACHED_NAMES) {
      this.cachedNames++;
      this.names.set(command, resolved);
    }
    return resolved;
  }

  /** The plan of a container's subcommand named by `arg`, or the container's own when there is none. */
  private subcommand(container: CommandPlan, arg: RedisArgument | undefined): CommandPlan {
    const subcommands = container.subcommands!;
    if (typeof arg === 'string') {
      const found = subcommands.get(arg);
      if (found !== undefined) return found;
      const upper = subcommands.get(arg.toUpperCase());
      if (upper === undefined) return container;
      if (subcommands.size < MAX_SUBCOMMAND_SPELLINGS) subcommands.set(arg, upper);
      return upper;
    }
    if (arg instanceof Uint8Array) {
      return subcommands.get(bytesText(arg).toUpperCase()) ?? container;
    }
    return container;
  }
}

/** Where {@link locate} leaves the keys it found: positions `first`, `first + step`, ... up to `last`. */
const span = { first: 0, last: -1, step: 1 };

/** The argument at a position of the command's argument vector: the name's words, then the arguments. */
function argumentAt(
  words: readonly string[],
  args: readonly RedisArgument[],
  position: number,
): RedisArgument | undefined {
  return position < words.length ? words[position] : args[position - words.length];
}

/** Applies one key spec to a call, leaving its keys in {@link span}; `false` when it names none in this call. */
function locate(spec: KeySpec, words: readonly string[], args: readonly RedisArgument[]): boolean {
  const count = words.length + args.length;
  let begin = -1;
  if (spec.begin === BEGIN_INDEX) {
    begin = spec.index;
  } else if (spec.startFrom >= 0) {
    for (let i = spec.startFrom; i < count; i++) {
      if (isKeyword(argumentAt(words, args, i), spec.keyword)) {
        begin = i + 1;
        break;
      }
    }
  } else {
    for (let i = count + spec.startFrom; i > 0; i--) {
      if (isKeyword(argumentAt(words, args, i), spec.keyword)) {
        begin = i + 1;
        break;
      }
    }
  }
  if (begin < 0) return false;
  let first = begin;
  let last: number;
  if (spec.find === FIND_RANGE) {
    if (spec.lastKey >= 0) last = begin + spec.lastKey;
    else if (spec.limit <= 1) last = count + spec.lastKey;
    else last = begin + Math.floor((count - begin) / spec.limit) + spec.lastKey;
  } else {
    const keys = keyCount(argumentAt(words, args, begin + spec.keyNumIndex));
    if (keys < 0) return false;
    first = begin + spec.firstKey;
    last = first + (keys - 1) * spec.keyStep;
  }
  if (first >= count || last >= count || last < first) return false;
  span.first = first;
  span.last = last;
  span.step = spec.keyStep;
  return true;
}

/** Whether an argument spells the (upper-case) keyword, ignoring ASCII case as Redis does. */
function isKeyword(arg: RedisArgument | undefined, keyword: string): boolean {
  if (typeof arg === 'string') {
    if (arg.length !== keyword.length) return false;
    for (let i = 0; i < arg.length; i++) {
      const code = arg.charCodeAt(i);
      if ((code >= 0x61 && code <= 0x7a ? code - 0x20 : code) !== keyword.charCodeAt(i))
        return false;
    }
    return true;
  }
  if (arg instanceof Uint8Array) {
    if (arg.length !== keyword.length) return false;
    for (let i = 0; i < arg.length; i++) {
      const code = arg[i];
      if ((code >= 0x61 && code <= 0x7a ? code - 0x20 : code) !== keyword.charCodeAt(i))
        return false;
    }
    return true;
  }
  return false;
}

/** A `numkeys` argument as a count; -1 when it is no integer, as the server would refuse it. */
function keyCount(arg: RedisArgument | undefined): number {
  if (typeof arg === 'number') return Number.isSafeInteger(arg) ? arg : -1;
  if (typeof arg === 'bigint') return Number(arg);
  if (arg === undefined) return -1;
  const digits = typeof arg === 'string' ? arg : bytesText(arg);
  return INTEGER.test(digits) ? Number(digits) : -1;
}

function bytesText(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
}
