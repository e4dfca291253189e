import { createHash } from 'node:crypto';
import type { RedisArgument } from '../protocol/resp.types';
import { UnknownScriptError } from './bullmq.errors';
import { argument } from './command-arguments';

/** A script as `defineCommand()` registered it. */
export interface DefinedScript {
  readonly name: string;
  readonly lua: string;
  /** Its SHA1, as EVALSHA knows it. */
  readonly sha1: string;
  readonly numberOfKeys: number;
}

/** What `defineCommand()` takes (BullMQ's definition shape). */
export interface ScriptDefinition {
  numberOfKeys: number;
  lua: string;
  /** A hint that the script only reads; accepted and unused (every call goes to the master). */
  readOnly?: boolean;
}

/**
 * BullMQ calls `runCommand(name, [keys..., args...])`, and ioredis-style callers `client[name]([...])` or
 * `client[name](a, b, ...)`: a single array argument is the argument list itself.
 */
function argumentList(args: readonly unknown[]): readonly unknown[] {
  return args.length === 1 && Array.isArray(args[0]) ? (args[0] as unknown[]) : args;
}

/** The Lua scripts a client (and the duplicates made of it) can run by name. */
export class ScriptRegistry {
  private readonly scripts: Map<string, DefinedScript>;

  constructor(from?: ScriptRegistry) {
    this.scripts = new Map(from?.scripts);
  }

  /** Registers (or replaces) `name`. */
  define(name: string, definition: ScriptDefinition): DefinedScript {
    const { lua, numberOfKeys } = definition;
    if (typeof lua !== 'string' || lua.length === 0) {
      throw new TypeError(`defineCommand("${name}") needs the Lua source`);
    }
    if (!Number.isInteger(numberOfKeys) || numberOfKeys < 0) {
      throw new TypeError(`defineCommand("${name}"): numberOfKeys must be a non-negative integer`);
    }
    const script: DefinedScript = {
      name,
      lua,
      numberOfKeys,
      sha1: createHash('sha1').update(lua).digest('hex'),
    };
    this.scripts.set(name, script);
    return script;
  }

  /** Every registered name. */
  names(): IterableIterator<string> {
    return this.scripts.keys();
  }

  /** @throws UnknownScriptError */
  get(name: string): DefinedScript {
    const script = this.scripts.get(name);
    if (script === undefined) throw new UnknownScriptError(name);
    return script;
  }
}

/**
 * EVALSHA's arguments for a call: `[sha1, numkeys, keys..., args...]` (EVAL's are the same with the source in
 * place of the SHA1). A call with fewer arguments than the script has keys is sent as it is, as ioredis sends
 * it, and the server refuses it.
 */
export function evalShaArguments(script: DefinedScript, args: readonly unknown[]): RedisArgument[] {
  const values = argumentList(args);
  const sent = new Array<RedisArgument>(values.length + 2);
  sent[0] = script.sha1;
  sent[1] = script.numberOfKeys;
  for (let i = 0; i < values.length; i++) sent[i + 2] = argument(values[i]);
  return sent;
}

/** `evalShaArguments` turned into EVAL's (the source instead of the SHA1); a copy. */
export function evalArguments(
  script: DefinedScript,
  evalSha: readonly RedisArgument[],
): RedisArgument[] {
  const sent = evalSha.slice();
  sent[0] = script.lua;
  return sent;
}
