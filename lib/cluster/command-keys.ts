import { ClusterError, ResponseError } from '../errors/redis-pool.errors';
import type { RedisArgument, RedisMap, RedisReply } from '../protocol/resp.types';

/** A command's cluster routing hints, from the `request_policy:` and `response_policy:` tips of `COMMAND`. */
export interface CommandTips {
  /** Where to send the command without keys, e.g. `'all_shards'`, `'all_nodes'`, `'multi_shard'`, `'special'`. */
  readonly requestPolicy?: string;
  /** How to combine the replies of several nodes, e.g. `'agg_sum'`, `'all_succeeded'`, `'special'`. */
  readonly responsePolicy?: string;
}

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

const BEGIN_INDEX = 0;
const BEGIN_KEYWORD = 1;
const FIND_RANGE = 0;
const FIND_KEYNUM = 1;

/**
 * One key spec reduced to numbers, so walking it allocates nothing. Every spec has every field, whatever its
 * kinds, so the code reading them sees one shape.
 */
interface KeySpec {
  readonly begin: typeof BEGIN_INDEX | typeof BEGIN_KEYWORD;
  /** `index`: the position of the first key (0 is the command name). */
  readonly index: number;
  /** `keyword`: the upper-cased keyword that precedes the keys. */
  readonly keyword: string;
  /** `keyword`: where the search starts; negative counts from the end and searches backwards. */
  readonly startFrom: number;
  readonly find: typeof FIND_RANGE | typeof FIND_KEYNUM;
  /** `range`: the last key relative to the begin position, or when negative relative to the end. */
  readonly lastKey: number;
  /** `range`: with a negative `lastKey`, a limit above 1 keeps the keys to 1/limit of the arguments left. */
  readonly limit: number;
  /** `keynum`: where the number of keys is, relative to the begin position. */
  readonly keyNumIndex: number;
  /** `keynum`: where the first key is, relative to the begin position. */
  readonly firstKey: number;
  /** Arguments from one key to the next, at least 1. */
  readonly keyStep: number;
}

/** Everything the table knows about one command or subcommand, computed once from its `COMMAND` entry. */
interface CommandPlan {
  readonly specs: readonly KeySpec[];
  /** Position of the only key when the command has one at a fixed place (GET, SET), else -1: the fast path. */
  readonly fixedKey: number;
  /** False when a spec is `unknown` or flagged `incomplete`, or a pre-7 command has `movablekeys`. */
  readonly complete: boolean;
  readonly readOnly: boolean;
  readonly tips: CommandTips;
  /** Upper-cased subcommand names (plus spellings seen since) to their plans, for container commands. */
  readonly subcommands: Map<string, CommandPlan> | undefined;
}

/** A command name as callers pass it, resolved once: `'get'`, `'XGROUP CREATE'`... */
interface ResolvedName {
  readonly plan: CommandPlan;
  /** The words of the name; the arguments follow them in the command's argument vector. */
  readonly words: readonly string[];
  /** Whether the subcommand is still to be read from the first argument (`'XGROUP'`, `['CREATE', ...]`). */
  readonly byFirstArgument: boolean;
}

const NO_TIPS: CommandTips = Object.freeze({});
/** Bounds on cached spellings, so arbitrary names cannot grow the table forever. */
const MAX_CACHED_NAMES = 2048;
const MAX_SUBCOMMAND_SPELLINGS = 256;
const INTEGER = /^(?:0|-?[1-9][0-9]*)$/;

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

// ---------------------------------------------------------------------------------------------------------------
// Reading the COMMAND reply.

/** One command's entry: [name, arity, flags, first key, last key, step, ACL categories, tips, key specs, subs]. */
function commandPlan(entry: RedisReply, includeNotKeys: boolean): CommandPlan | undefined {
  if (!Array.isArray(entry) || entry.length < 6) return undefined;
  const flags = textList(entry[2]).map((flag) => flag.toLowerCase());
  const specs: KeySpec[] = [];
  let complete = true;
  const rawSpecs = entry[8];
  if (Array.isArray(rawSpecs) && rawSpecs.length > 0) {
    for (const raw of rawSpecs) {
      const specFlags = textList(field(raw, 'flags')).map((flag) => flag.toLowerCase());
      if (specFlags.includes('not_key') && !includeNotKeys) continue;
      const spec = keySpec(raw);
      if (spec === undefined || specFlags.includes('incomplete')) complete = false;
      if (spec !== undefined) specs.push(spec);
    }
  } else {
    const legacy = legacySpec(integer(entry[3]), integer(entry[4]), integer(entry[5]));
    if (legacy !== undefined) specs.push(legacy);
    if (flags.includes('movablekeys')) complete = false;
  }
  const only = specs.length === 1 ? specs[0] : undefined;
  return {
    specs,
    fixedKey:
      only?.begin === BEGIN_INDEX && only.find === FIND_RANGE && only.lastKey === 0
        ? only.index
        : -1,
    complete,
    readOnly: flags.includes('readonly'),
    tips: commandTips(textList(entry[7])),
    subcommands: subcommandPlans(entry[9], includeNotKeys),
  };
}

function subcommandPlans(
  raw: RedisReply | undefined,
  includeNotKeys: boolean,
): Map<string, CommandPlan> | undefined {
  if (!Array.isArray(raw) || raw.length === 0) return undefined;
  const plans = new Map<string, CommandPlan>();
  for (const entry of raw) {
    const name = text(Array.isArray(entry) ? entry[0] : undefined);
    const plan = commandPlan(entry, includeNotKeys);
    // Subcommands are named `container|sub`.
    if (name !== undefined && plan !== undefined) {
      plans.set(name.slice(name.indexOf('|') + 1).toUpperCase(), plan);
    }
  }
  return plans.size > 0 ? plans : undefined;
}

/** A key spec of kinds this table knows, or `undefined` (`unknown` or anything newer). */
function keySpec(raw: RedisReply): KeySpec | undefined {
  const beginSearch = field(raw, 'begin_search');
  const beginSpec = field(beginSearch, 'spec');
  const findKeys = field(raw, 'find_keys');
  const findSpec = field(findKeys, 'spec');
  const spec = {
    begin: BEGIN_INDEX as KeySpec['begin'],
    index: 0,
    keyword: '',
    startFrom: 0,
    find: FIND_RANGE as KeySpec['find'],
    lastKey: 0,
    limit: 0,
    keyNumIndex: 0,
    firstKey: 0,
    keyStep: 1,
  };
  switch (text(field(beginSearch, 'type'))) {
    case 'index':
      spec.index = integer(field(beginSpec, 'index'));
      if (!(spec.index >= 0)) return undefined;
      break;
    case 'keyword':
      spec.begin = BEGIN_KEYWORD;
      spec.keyword = text(field(beginSpec, 'keyword'))?.toUpperCase() ?? '';
      spec.startFrom = integer(field(beginSpec, 'startfrom'));
      if (spec.keyword === '' || !Number.isInteger(spec.startFrom)) return undefined;
      break;
    default:
      return undefined;
  }
  switch (text(field(findKeys, 'type'))) {
    case 'range':
      spec.lastKey = integer(field(findSpec, 'lastkey'));
      spec.keyStep = integer(field(findSpec, 'keystep'));
      spec.limit = integer(field(findSpec, 'limit'));
      if (!Number.isInteger(spec.lastKey) || !(spec.limit >= 0)) return undefined;
      break;
    case 'keynum':
      spec.find = FIND_KEYNUM;
      spec.keyNumIndex = integer(field(findSpec, 'keynumidx'));
      spec.firstKey = integer(field(findSpec, 'firstkey'));
      spec.keyStep = integer(field(findSpec, 'keystep'));
      if (!(spec.keyNumIndex >= 0) || !(spec.firstKey >= 0)) return undefined;
      break;
    default:
      return undefined;
  }
  return spec.keyStep >= 1 ? spec : undefined;
}

/** Keys from first key, last key (negative: from the end) and step, the scheme of servers before Redis 7. */
function legacySpec(firstKey: number, lastKey: number, keyStep: number): KeySpec | undefined {
  if (!(firstKey > 0) || !Number.isInteger(lastKey) || !(keyStep >= 1)) return undefined;
  return {
    begin: BEGIN_INDEX,
    index: firstKey,
    keyword: '',
    startFrom: 0,
    find: FIND_RANGE,
    lastKey: lastKey >= 0 ? lastKey - firstKey : lastKey,
    limit: 0,
    keyNumIndex: 0,
    firstKey: 0,
    keyStep,
  };
}

function commandTips(tips: readonly string[]): CommandTips {
  let requestPolicy: string | undefined;
  let responsePolicy: string | undefined;
  for (const tip of tips) {
    if (tip.startsWith('request_policy:')) requestPolicy = tip.slice('request_policy:'.length);
    else if (tip.startsWith('response_policy:'))
      responsePolicy = tip.slice('response_policy:'.length);
  }
  if (requestPolicy === undefined && responsePolicy === undefined) return NO_TIPS;
  const result: { requestPolicy?: string; responsePolicy?: string } = {};
  if (requestPolicy !== undefined) result.requestPolicy = requestPolicy;
  if (responsePolicy !== undefined) result.responsePolicy = responsePolicy;
  return Object.freeze(result);
}

/** A field of a map reply: a null-prototype object in RESP3, a flat `[name, value, ...]` list in RESP2. */
function field(map: RedisReply | undefined, name: string): RedisReply | undefined {
  if (Array.isArray(map)) {
    for (let i = 0; i + 1 < map.length; i += 2) if (text(map[i]) === name) return map[i + 1];
    return undefined;
  }
  if (
    typeof map !== 'object' ||
    map === null ||
    Buffer.isBuffer(map) ||
    map instanceof ResponseError
  ) {
    return undefined;
  }
  return (map as RedisMap)[name];
}

function text(value: RedisReply | undefined): string | undefined {
  if (typeof value === 'string') return value;
  return Buffer.isBuffer(value) ? value.toString('utf8') : undefined;
}

function textList(value: RedisReply | undefined): string[] {
  if (!Array.isArray(value)) return [];
  const texts: string[] = [];
  for (const item of value) {
    const itemText = text(item);
    if (itemText !== undefined) texts.push(itemText);
  }
  return texts;
}

/** An integer field; NaN when absent or not an integer, which every check above refuses. */
function integer(value: RedisReply | undefined): number {
  if (typeof value === 'number') return Number.isInteger(value) ? value : NaN;
  if (typeof value === 'bigint') return Number(value);
  const digits = text(value);
  return digits !== undefined && INTEGER.test(digits) ? Number(digits) : NaN;
}
