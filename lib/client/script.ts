import { createHash } from 'node:crypto';
import { ResponseError } from '../errors/redis-pool.errors';
import type { RedisArgument, RedisReply } from '../protocol/resp.types';
import type { RedisKey } from './redis-client.types';

/** Options of `defineScript()`. */
export interface ScriptOptions {
  /**
   * How many keys every call passes; a call with another number of keys rejects with `TypeError` before anything
   * is sent.
   * @default undefined (any number: the length of `keys` is sent as `numkeys`)
   */
  numberOfKeys?: number;
}

/**
 * A Lua script ready to call: `(keys, args)` runs it with EVALSHA, falling back to EVAL (which also loads it) when
 * the server answers NOSCRIPT, as after SCRIPT FLUSH, a restart or a failover.
 */
export interface RedisScript {
  (keys?: readonly RedisKey[], args?: readonly RedisArgument[]): Promise<RedisReply>;
  /** The script's SHA1, as EVALSHA and SCRIPT EXISTS know it. */
  readonly sha1: string;
  /** The Lua source. */
  readonly lua: string;
  /** The declared key count, if any. */
  readonly numberOfKeys: number | undefined;
}

/** Runs one command through the service (with its per-call options). */
export type ScriptExecutor = (command: string, args: RedisArgument[]) => Promise<RedisReply>;

/** Builds the callable behind `RedisService.defineScript()`. */
export function createScript(
  lua: string,
  options: ScriptOptions,
  execute: ScriptExecutor,
): RedisScript {
  if (typeof lua !== 'string' || lua.length === 0)
    throw new TypeError('defineScript needs the Lua source');
  const { numberOfKeys } = options;
  if (numberOfKeys !== undefined && (!Number.isInteger(numberOfKeys) || numberOfKeys < 0)) {
    throw new TypeError('numberOfKeys must be a non-negative integer');
  }
  const sha1 = createHash('sha1').update(lua).digest('hex');
  const call = async (
    keys: readonly RedisKey[] = [],
    args: readonly RedisArgument[] = [],
  ): Promise<RedisReply> => {
    if (numberOfKeys !== undefined && keys.length !== numberOfKeys) {
      throw new TypeError(`This script takes ${numberOfKeys} keys, got ${keys.length}`);
    }
    const tail: RedisArgument[] = [keys.length, ...keys, ...args];
    try {
      return await execute('EVALSHA', [sha1, ...tail]);
    } catch (error) {
      if (!(error instanceof ResponseError) || error.code !== 'NOSCRIPT') throw error;
      return execute('EVAL', [lua, ...tail]);
    }
  };
  return Object.defineProperties(call, {
    sha1: { value: sha1, enumerable: true },
    lua: { value: lua, enumerable: true },
    numberOfKeys: { value: numberOfKeys, enumerable: true },
  }) as RedisScript;
}
