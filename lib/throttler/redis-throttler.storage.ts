import type { ThrottlerStorage } from '@nestjs/throttler';
import type { RedisService } from '../client/redis.service';
import type { RedisScript } from '../client/script';
import { THROTTLER_INCREMENT_LUA } from './throttler-increment.lua';
import { throttlerKey } from './throttler-keys';
import {
  resolveThrottlerOptions,
  type RedisThrottlerStorageOptions,
} from './throttler-storage.options';

/** What `increment()` resolves with (`@nestjs/throttler` does not export the record's interface from its root). */
type ThrottlerStorageRecord = Awaited<ReturnType<ThrottlerStorage['increment']>>;

/**
 * A `ThrottlerStorage` for `@nestjs/throttler` 6 on the app's own pool, so the rate limit is shared by every
 * instance of the app that talks to the same Redis (or Redis Cluster):
 *
 * ```ts
 * ThrottlerModule.forRootAsync({
 *   inject: [RedisService],
 *   useFactory: (redis: RedisService) => ({
 *     throttlers: [{ ttl: 60_000, limit: 10 }],
 *     storage: new RedisThrottlerStorage(redis),
 *   }),
 * });
 * ```
 *
 * Each `increment()` is one Lua script (EVALSHA, EVAL after SCRIPT FLUSH or on a node that never saw it) that
 * runs the in-memory `ThrottlerStorageService`'s algorithm on the server's clock: the same hits, windows and
 * blocks, and no clock skew between instances. It never closes the pool: the pool belongs to the app.
 */
export class RedisThrottlerStorage implements ThrottlerStorage {
  private readonly script: RedisScript;
  private readonly keyPrefix: string;

  constructor(
    /** The service (and so the pool) every increment runs on. */
    readonly redis: RedisService,
    options?: RedisThrottlerStorageOptions,
  ) {
    if (typeof redis?.defineScript !== 'function') {
      throw new TypeError('RedisThrottlerStorage needs a RedisService');
    }
    this.keyPrefix = resolveThrottlerOptions(options).keyPrefix;
    this.script = redis.defineScript(THROTTLER_INCREMENT_LUA, { numberOfKeys: 1 });
  }

  /**
   * Counts one hit of `key` for `throttlerName`, as `ThrottlerGuard` calls it.
   *
   * @param key The tracker key (the guard passes a SHA-256 of class, handler, throttler name and tracker).
   * @param ttl Window length in milliseconds; each hit counts for `ttl` ms.
   * @param limit Hits allowed within `ttl`; the hit that makes `totalHits > limit` starts the block.
   * @param blockDuration How long a block lasts, in milliseconds; 0 or less: never block, just refuse the hits
   *   over the limit until the oldest one expires.
   * @param throttlerName Name of the throttler; each name counts apart.
   * @returns `timeToExpire` and `timeToBlockExpire` in whole seconds, rounded up; `timeToBlockExpire` is 0 unless
   *   `isBlocked`.
   */
  async increment(
    key: string,
    ttl: number,
    limit: number,
    blockDuration: number,
    throttlerName: string,
  ): Promise<ThrottlerStorageRecord> {
    checkArguments(key, ttl, limit, blockDuration, throttlerName);
    const reply = await this.script(
      [throttlerKey(this.keyPrefix, throttlerName, key)],
      [
        Math.ceil(ttl),
        Number.isFinite(limit) ? limit : Math.sign(limit) * Number.MAX_VALUE,
        Math.ceil(blockDuration),
      ],
    );
    if (!Array.isArray(reply) || reply.length !== 4 || !reply.every(Number.isInteger)) {
      throw new TypeError(`Unexpected reply from the throttler script: ${JSON.stringify(reply)}`);
    }
    const [totalHits, windowMs, blocked, blockMs] = reply as number[];
    return {
      totalHits,
      timeToExpire: Math.ceil(windowMs / 1000),
      isBlocked: blocked === 1,
      timeToBlockExpire: blocked === 1 ? Math.ceil(blockMs / 1000) : 0,
    };
  }
}

/** About 31 years: the record stores times as 6-byte integers of ms since the epoch. */
const MAX_DURATION_MS = 1e12;

function checkArguments(
  key: string,
  ttl: number,
  limit: number,
  blockDuration: number,
  throttlerName: string,
): void {
  if (typeof key !== 'string') throw new TypeError(`key must be a string, got ${typeof key}`);
  if (typeof throttlerName !== 'string') {
    throw new TypeError(`throttlerName must be a string, got ${typeof throttlerName}`);
  }
  if (typeof ttl !== 'number' || !(ttl > 0 && ttl <= MAX_DURATION_MS)) {
    throw new TypeError(
      `ttl must be a positive number of milliseconds up to 1e12, got ${String(ttl)}`,
    );
  }
  if (typeof limit !== 'number' || Number.isNaN(limit)) {
    throw new TypeError(`limit must be a number, got ${String(limit)}`);
  }
  if (typeof blockDuration !== 'number' || !(Math.abs(blockDuration) <= MAX_DURATION_MS)) {
    throw new TypeError(
      `blockDuration must be a number of milliseconds up to 1e12, got ${String(blockDuration)}`,
    );
  }
}
