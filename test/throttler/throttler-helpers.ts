import { ThrottlerStorageService } from '@nestjs/throttler';
import type { RedisService } from '../../lib/client/redis.service';
import type { RedisThrottlerStorage } from '../../lib/throttler/redis-throttler.storage';

/** A storage record as `increment()` resolves it. */
export type ThrottleRecord = Awaited<ReturnType<RedisThrottlerStorage['increment']>>;

/** `[totalHits, timeToExpire, isBlocked, timeToBlockExpire]`, short enough for tables of expectations. */
export type RecordTuple = [number, number, boolean, number];

export function tuple(record: ThrottleRecord): RecordTuple {
  return [record.totalHits, record.timeToExpire, record.isBlocked, record.timeToBlockExpire];
}

/**
 * The in-memory storage's record as ours reports it: `timeToBlockExpire` is 0 whenever the key is not blocked
 * (the in-memory one leaves a stale negative number there: the seconds since the last block ended, or minus the
 * epoch in seconds if there never was one).
 */
export function comparable(record: ThrottleRecord): RecordTuple {
  const [hits, expire, blocked, blockExpire] = tuple(record);
  return [hits, expire, blocked, blocked ? blockExpire : 0];
}

/**
 * One burst of a scenario: at `at` ms after the first hit, one hit per expected record (with the scenario's ttl
 * unless `ttl` overrides it).
 */
export interface Burst {
  at: number;
  ttl?: number;
  expect: RecordTuple[];
}

/** The throttle settings of a scenario, in the guard's units (ms). */
export interface ThrottleSettings {
  ttl: number;
  limit: number;
  blockDuration: number;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
}

/**
 * Plays `bursts` against our storage and the in-memory `ThrottlerStorageService`, hit for hit, and returns both
 * sequences of records. Every burst starts on a whole second after the first hit and the scenarios use ttl and
 * blockDuration of n.5 s, so each rounded time is half a second away from a rounding boundary: a loaded machine
 * may delay a burst by a few hundred ms without changing any expected value.
 */
export async function playScenario(
  ours: RedisThrottlerStorage,
  key: string,
  settings: ThrottleSettings,
  bursts: Burst[],
): Promise<{ ours: RecordTuple[]; memory: RecordTuple[] }> {
  const memory = new ThrottlerStorageService();
  const seen = { ours: [] as RecordTuple[], memory: [] as RecordTuple[] };
  const { limit, blockDuration } = settings;
  try {
    const start = Date.now();
    for (const burst of bursts) {
      const ttl = burst.ttl ?? settings.ttl;
      await sleep(start + burst.at - Date.now());
      for (let i = 0; i < burst.expect.length; i++) {
        seen.ours.push(tuple(await ours.increment(key, ttl, limit, blockDuration, 'default')));
        seen.memory.push(
          comparable(await memory.increment(key, ttl, limit, blockDuration, 'default')),
        );
      }
    }
  } finally {
    memory.onApplicationShutdown();
  }
  return seen;
}

/**
 * A record as the script stores it: window end, block end (0: none), the key's own expiry, then each hit's
 * expiry (the first ones may have expired already), all in ms since the epoch.
 */
export interface StoredRecord {
  windowEnd: number;
  blockEnd: number;
  keyExpiry: number;
  hits: number[];
}

export async function readRecord(redis: RedisService, key: string): Promise<StoredRecord | null> {
  const raw = await redis.getBuffer(key);
  if (raw === null) return null;
  const hits: number[] = [];
  for (let at = 18; at < raw.length; at += 6) hits.push(raw.readUIntBE(at, 6));
  return {
    windowEnd: raw.readUIntBE(0, 6),
    blockEnd: raw.readUIntBE(6, 6),
    keyExpiry: raw.readUIntBE(12, 6),
    hits,
  };
}

/** Every key of the current database, sorted. */
export async function allKeys(redis: RedisService): Promise<string[]> {
  const keys: string[] = [];
  for await (const key of redis.scanIterator({ count: 1000 })) keys.push(key);
  return keys.sort();
}
