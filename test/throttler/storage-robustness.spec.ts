import { RedisService } from '../../lib/client/redis.service';
import {
  ConfigurationError,
  ConnectionError,
  ResponseError,
  TimeoutError,
} from '../../lib/errors/redis-pool.errors';
import { ConnectionPool } from '../../lib/pool/connection-pool';
import { RedisThrottlerStorage } from '../../lib/throttler/redis-throttler.storage';
import { startRedisServer, useRedisServer } from '../harness';
import { openService } from '../client/client-helpers';
import { unique } from '../nest/nest-helpers';
import { readRecord, tuple } from './throttler-helpers';

describe('RedisThrottlerStorage under concurrency, SCRIPT FLUSH and errors', () => {
  const server = useRedisServer();
  let redis: RedisService;
  let storage: RedisThrottlerStorage;
  beforeAll(() => {
    redis = new RedisService(ConnectionPool.fromUrl(server().url, { maxConnections: 4 }));
    storage = new RedisThrottlerStorage(redis);
  });
  afterAll(() => redis.pool.disconnect());

  it('counts 200 concurrent hits exactly: one record per count, the block from hit 151 on', async () => {
    const key = unique('crowd');
    const records = await Promise.all(
      Array.from({ length: 200 }, () => storage.increment(key, 60_000, 150, 60_000, 'default')),
    );
    const counts = records.map((r) => r.totalHits).sort((a, b) => a - b);
    expect(counts).toEqual([
      ...Array.from({ length: 150 }, (_, i) => i + 1),
      ...Array.from({ length: 50 }, () => 151),
    ]);
    expect(records.filter((r) => r.isBlocked)).toHaveLength(50);
    expect(records.every((r) => r.isBlocked === r.totalHits > 150)).toBe(true);
    expect(records.filter((r) => r.isBlocked).every((r) => r.timeToBlockExpire === 60)).toBe(true);
    const record = await readRecord(redis, `throttler:default:${key}`);
    expect(record!.hits).toHaveLength(151);
    expect(record!.hits).toEqual([...record!.hits].sort((a, b) => a - b));
  });

  it('shares one count between two pools (two app instances), 2 × 100 concurrent hits', async () => {
    const other = openService(server(), 3);
    try {
      const key = unique('shared');
      const second = new RedisThrottlerStorage(other);
      const hit = (s: RedisThrottlerStorage) => s.increment(key, 60_000, 1000, 60_000, 'default');
      const records = await Promise.all(
        Array.from({ length: 200 }, (_, i) => hit(i % 2 === 0 ? storage : second)),
      );
      const counts = records.map((r) => r.totalHits).sort((a, b) => a - b);
      expect(counts).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
    } finally {
      await other.pool.disconnect();
    }
  });

  /** EVAL and EVALSHA calls the server has counted. */
  const calls = async (): Promise<{ eval: number; evalsha: number }> => {
    const stats = (await redis.info('commandstats'))['commandstats'] ?? {};
    const count = (name: string) =>
      Number(/calls=(\d+)/.exec(stats[`cmdstat_${name}`] ?? '')?.[1] ?? 0);
    return { eval: count('eval'), evalsha: count('evalsha') };
  };

  it('keeps counting through SCRIPT FLUSH (EVALSHA, then EVAL on NOSCRIPT)', async () => {
    const key = unique('flush');
    const hit = () => storage.increment(key, 60_000, 5, 60_000, 'default').then(tuple);
    expect(await hit()).toEqual([1, 60, false, 0]);
    const before = await calls();
    await redis.executeCommand('SCRIPT', 'FLUSH');
    expect(await hit()).toEqual([2, 60, false, 0]);
    expect(await hit()).toEqual([3, 60, false, 0]);
    const after = await calls();
    expect(after.eval - before.eval).toBe(1);
    expect(after.evalsha - before.evalsha).toBe(2);
    await redis.executeCommand('SCRIPT', 'FLUSH');
    const burst = await Promise.all(Array.from({ length: 4 }, () => hit()));
    expect(burst.map((r) => r[0]).sort()).toEqual([4, 5, 6, 6]);
    expect(await hit()).toEqual([6, 60, true, 60]);
  });

  it('rejects with the server error, typed, when a record key holds something else', async () => {
    const key = unique('wrongtype');
    await redis.hset(`throttler:default:${key}`, { not: 'a record' });
    const error = await storage.increment(key, 1000, 1, 1000, 'default').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ResponseError);
    expect((error as ResponseError).message).toMatch(/WRONGTYPE/);
    const other = unique('garbage');
    await redis.set(`throttler:default:${other}`, 'not a throttler record');
    const garbage = await storage.increment(other, 1000, 1, 1000, 'default').catch((e) => e);
    expect(garbage).toBeInstanceOf(ResponseError);
    expect((garbage as ResponseError).message).toMatch(/is not a throttler record/);
  });

  it('rejects fast with ConnectionError when the server is gone, and recovers when it is back', async () => {
    const lone = await startRedisServer();
    const service = new RedisService(
      ConnectionPool.fromUrl(lone.url, {
        connectTimeoutMs: 500,
        retry: { attempts: 2, baseDelayMs: 20, maxDelayMs: 100 },
      }),
    );
    try {
      const own = new RedisThrottlerStorage(service);
      const key = unique('down');
      expect(tuple(await own.increment(key, 60_000, 5, 60_000, 'default'))[0]).toBe(1);
      await lone.kill();
      const started = Date.now();
      const errors = await Promise.all(
        Array.from({ length: 5 }, () =>
          own.increment(key, 60_000, 5, 60_000, 'default').catch((e: unknown) => e),
        ),
      );
      expect(Date.now() - started).toBeLessThan(5000);
      for (const error of errors) expect(error).toBeInstanceOf(ConnectionError);
      await lone.start(); // an empty server: the count and the script are gone
      let record: Awaited<ReturnType<RedisThrottlerStorage['increment']>> | undefined;
      const deadline = Date.now() + 10_000;
      while (record === undefined && Date.now() < deadline) {
        record = await own.increment(key, 60_000, 5, 60_000, 'default').catch(() => undefined);
        if (record === undefined) await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(record && tuple(record)).toEqual([1, 60, false, 0]);
    } finally {
      await service.pool.disconnect();
      await lone.dispose();
    }
  });

  it('keeps a busy record small: expired hits are dropped as they pile up', async () => {
    const key = unique('busy');
    let sizes = 0;
    const until = Date.now() + 1500;
    for (let i = 0; Date.now() < until; i++) {
      const record = await storage.increment(key, 200, 100_000, 200, 'default');
      expect(record.isBlocked).toBe(false);
      if (i % 50 === 49) {
        const stored = await readRecord(redis, `throttler:default:${key}`);
        // As the script saw it at the last hit (which expires 200 ms after it was counted).
        const lastHitAt = Math.max(...stored!.hits) - 200;
        const live = stored!.hits.filter((expiry) => expiry > lastHitAt).length;
        expect(stored!.hits.length).toBeLessThanOrEqual(2 * live + 10);
        sizes++;
      }
    }
    expect(sizes).toBeGreaterThan(5);
  });

  it('gives up at the deadline of a withOptions({ timeoutMs }) view while the server is frozen', async () => {
    const lone = await startRedisServer();
    const service = new RedisService(ConnectionPool.fromUrl(lone.url));
    try {
      const own = new RedisThrottlerStorage(service.withOptions({ timeoutMs: 300 }));
      const key = unique('frozen');
      await own.increment(key, 60_000, 5, 60_000, 'default');
      lone.freeze();
      const started = Date.now();
      const error = await own.increment(key, 60_000, 5, 60_000, 'default').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(TimeoutError);
      expect(Date.now() - started).toBeLessThan(2000);
    } finally {
      lone.resume();
      await service.pool.disconnect();
      await lone.dispose();
    }
  });

  it('refuses arguments the script cannot mean with a TypeError', async () => {
    const bad: [string, unknown[]][] = [
      ['ttl', ['k', 0, 1, 1, 'default']],
      ['ttl', ['k', Number.NaN, 1, 1, 'default']],
      ['ttl', ['k', Infinity, 1, 1, 'default']],
      ['ttl', ['k', 1e12 + 1, 1, 1, 'default']],
      ['blockDuration', ['k', 1000, 1, Number.NaN, 'default']],
      ['limit', ['k', 1000, Number.NaN, 1, 'default']],
      ['blockDuration', ['k', 1000, 1, Infinity, 'default']],
      ['key', [42, 1000, 1, 1, 'default']],
      ['throttlerName', ['k', 1000, 1, 1, undefined]],
    ];
    const increment = storage.increment.bind(storage) as (...args: unknown[]) => Promise<unknown>;
    for (const [name, args] of bad) {
      const error = await increment(...args).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(TypeError);
      expect((error as TypeError).message).toMatch(new RegExp(`^${name} must be`));
    }
  });

  it('takes an infinite limit, and fractions of a millisecond round up', async () => {
    const key = unique('odd');
    const record = await storage.increment(key, 999.2, Infinity, 0.5, 'default');
    expect(tuple(record)).toEqual([1, 1, false, 0]);
    const pttl = await redis.pttl(`throttler:default:${key}`);
    // The 1000 ms window and as much slack: more than the window however slow the PTTL is to follow.
    expect(pttl).toBeGreaterThan(1000);
    expect(pttl).toBeLessThanOrEqual(2000);
  });

  it('checks its options: unknown keys and a keyPrefix not a string are ConfigurationErrors', () => {
    const make = (options: unknown) =>
      new RedisThrottlerStorage(redis, options as { keyPrefix?: string });
    expect(() => make({ prefix: 'x' })).toThrow(ConfigurationError);
    expect(() => make({ prefix: 'x' })).toThrow(/Unknown RedisThrottlerStorage option "prefix"/);
    expect(() => make({ keyPrefix: 5 })).toThrow(/must be a string, got 5 \(number\)/);
    expect(() => new RedisThrottlerStorage({} as RedisService)).toThrow(/needs a RedisService/);
    expect(make({ keyPrefix: '' })).toBeInstanceOf(RedisThrottlerStorage);
  });
});
