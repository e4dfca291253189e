import { RedisService } from '../../lib/client/redis.service';
import { ConnectionPool } from '../../lib/pool/connection-pool';
import { RedisThrottlerStorage } from '../../lib/throttler/redis-throttler.storage';
import { useRedisServer } from '../harness';
import { unique } from '../nest/nest-helpers';
import {
  allKeys,
  playScenario,
  readRecord,
  tuple,
  type Burst,
  type ThrottleSettings,
} from './throttler-helpers';

const F = false;
const T = true;

/*
 * Each scenario lists, burst by burst, the record every hit must give: [totalHits, timeToExpire, isBlocked,
 * timeToBlockExpire]. Ours must give exactly these, and so must @nestjs/throttler's own in-memory storage for the
 * same hits at the same moments (its timeToBlockExpire read as 0 while not blocked).
 */
const SCENARIOS: [string, ThrottleSettings, Burst[]][] = [
  [
    'blocks on the hit over the limit, for blockDuration, then counts afresh; the window restarts after ttl',
    { ttl: 2500, limit: 3, blockDuration: 1500 },
    [
      {
        at: 0,
        expect: [
          [1, 3, F, 0],
          [2, 3, F, 0],
          [3, 3, F, 0],
          [4, 3, T, 2],
          [4, 3, T, 2],
        ],
      },
      { at: 1000, expect: [[4, 2, T, 1]] },
      {
        at: 2000,
        expect: [
          [1, 1, F, 0],
          [2, 1, F, 0],
          [3, 1, F, 0],
          [4, 1, T, 2],
        ],
      },
      { at: 3000, expect: [[4, 3, T, 1]] },
      {
        at: 4000,
        expect: [
          [1, 2, F, 0],
          [2, 2, F, 0],
          [3, 2, F, 0],
        ],
      },
      // Hits slide: the three of 4.0 s still count at 5.0 s although the window restarted at 3.0 s.
      { at: 5000, expect: [[4, 1, T, 2]] },
    ],
  ],
  [
    'without a block (blockDuration 0) refuses hits over the limit until the oldest counted one expires',
    { ttl: 2500, limit: 3, blockDuration: 0 },
    [
      {
        at: 0,
        expect: [
          [1, 3, F, 0],
          [2, 3, F, 0],
          [3, 3, F, 0],
          [4, 3, T, 3],
        ],
      },
      { at: 1000, expect: [[4, 2, T, 2]] },
      { at: 2000, expect: [[4, 1, T, 1]] },
      {
        at: 3000,
        expect: [
          [1, 3, F, 0],
          [2, 3, F, 0],
        ],
      },
      {
        at: 4000,
        expect: [
          [3, 2, F, 0],
          [4, 2, T, 2],
        ],
      },
      { at: 6000, expect: [[2, 3, F, 0]] },
    ],
  ],
  [
    'keeps a block longer than ttl while its hits expire, then counts afresh',
    { ttl: 1500, limit: 2, blockDuration: 3500 },
    [
      {
        at: 0,
        expect: [
          [1, 2, F, 0],
          [2, 2, F, 0],
          [3, 2, T, 4],
        ],
      },
      { at: 1000, expect: [[3, 1, T, 3]] },
      { at: 2000, expect: [[0, 2, T, 2]] },
      { at: 3000, expect: [[0, 1, T, 1]] },
      {
        at: 4000,
        expect: [
          [1, 2, F, 0],
          [2, 2, F, 0],
        ],
      },
    ],
  ],
  [
    'counts each hit for the ttl it came with: a shorter ttl expires a later hit first',
    { ttl: 3500, limit: 3, blockDuration: 0 },
    [
      {
        at: 0,
        expect: [
          [1, 4, F, 0],
          [2, 4, F, 0],
        ],
      },
      { at: 1000, ttl: 1500, expect: [[3, 3, F, 0]] },
      { at: 2000, ttl: 1500, expect: [[4, 2, T, 1]] },
      { at: 3000, ttl: 1500, expect: [[3, 1, F, 0]] },
      { at: 4000, ttl: 1500, expect: [[2, 2, F, 0]] },
    ],
  ],
  [
    'keeps a record as long as a hit with a longer ttl than the others needs it',
    { ttl: 1500, limit: 10, blockDuration: 0 },
    [
      { at: 0, expect: [[1, 2, F, 0]] },
      { at: 1000, ttl: 3500, expect: [[2, 1, F, 0]] },
      { at: 4000, ttl: 3500, expect: [[2, 4, F, 0]] },
    ],
  ],
  [
    'with a limit of 0, blocks every hit but the first after a block',
    { ttl: 2500, limit: 0, blockDuration: 1500 },
    [
      {
        at: 0,
        expect: [
          [1, 3, T, 2],
          [1, 3, T, 2],
        ],
      },
      {
        at: 2000,
        expect: [
          [1, 1, F, 0],
          [2, 1, T, 2],
        ],
      },
      { at: 3000, expect: [[2, 3, T, 1]] },
    ],
  ],
];

describe('RedisThrottlerStorage records', () => {
  const server = useRedisServer();
  let redis: RedisService;
  let storage: RedisThrottlerStorage;
  beforeAll(() => {
    redis = new RedisService(ConnectionPool.fromUrl(server().url, { maxConnections: 4 }));
    storage = new RedisThrottlerStorage(redis);
  });
  afterAll(() => redis.pool.disconnect());

  it.each(SCENARIOS)('%s, exactly as the in-memory storage', async (_name, settings, bursts) => {
    const seen = await playScenario(storage, unique('scenario'), settings, bursts);
    const expected = bursts.flatMap((burst) => burst.expect);
    expect(seen.memory).toEqual(expected);
    expect(seen.ours).toEqual(expected);
  });

  it("keeps time by the server's clock: an app clock an hour off changes nothing", async () => {
    const key = unique('skew');
    const hit = () => storage.increment(key, 3000, 1, 3000, 'default').then(tuple);
    expect(await hit()).toEqual([1, 3, F, 0]);
    const realNow = Date.now.bind(Date);
    const skew = jest.spyOn(Date, 'now').mockImplementation(() => realNow() + 3_600_000);
    try {
      expect(await hit()).toEqual([2, 3, T, 3]);
    } finally {
      skew.mockRestore();
    }
    const record = await readRecord(redis, `throttler:default:${key}`);
    expect(Math.abs(record!.blockEnd - 3000 - Date.now())).toBeLessThan(1000);
  });

  it('counts each throttler name, and each key, apart', async () => {
    const key = unique('client');
    const other = unique('client');
    const hit = (k: string, name: string, limit: number) =>
      storage.increment(k, 10_000, limit, 10_000, name).then(tuple);
    expect(await hit(key, 'short', 1)).toEqual([1, 10, F, 0]);
    expect(await hit(key, 'short', 1)).toEqual([2, 10, T, 10]);
    expect(await hit(key, 'long', 5)).toEqual([1, 10, F, 0]);
    expect(await hit(key, 'long', 5)).toEqual([2, 10, F, 0]);
    expect(await hit(other, 'short', 1)).toEqual([1, 10, F, 0]);
    expect(await hit(key, 'short', 1)).toEqual([2, 10, T, 10]);
    const keys = (await allKeys(redis)).filter(
      (k) => k.endsWith(`:${key}`) || k.endsWith(`:${other}`),
    );
    expect(keys).toEqual(
      [`throttler:long:${key}`, `throttler:short:${key}`, `throttler:short:${other}`].sort(),
    );
    const short = await readRecord(redis, `throttler:short:${key}`);
    expect(short!.hits).toHaveLength(2); // the third hit came while blocked: not counted
    expect(short!.blockEnd).toBe(short!.hits[1]); // blocked by the second hit, for blockDuration = ttl
    expect((await readRecord(redis, `throttler:long:${key}`))!.blockEnd).toBe(0);
  });

  it('writes under keyPrefix; a record expires a ttl after its window, block and hits are over', async () => {
    const prefix = unique('rl');
    const own = new RedisThrottlerStorage(redis, { keyPrefix: prefix });
    const key = unique('client');
    await new RedisThrottlerStorage(redis).increment(key, 1000, 5, 1000, 'default');
    await own.increment(key, 1000, 1, 3000, 'default');
    await own.increment(key, 1000, 1, 3000, 'default'); // blocked for 3 s
    const record = `${prefix}:default:${key}`;
    expect(await redis.exists(record, `throttler:default:${key}`)).toBe(2);
    // The block's 3 s, and a ttl of slack for the next hits.
    expect(await redis.pttl(record)).toBeGreaterThan(3000);
    expect(await redis.pttl(record)).toBeLessThanOrEqual(4000);
    for (const k of await allKeys(redis)) expect(await redis.pttl(k)).toBeGreaterThan(0);
    const deadline = Date.now() + 12_000;
    while ((await redis.exists(record)) > 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(await redis.exists(record)).toBe(0);
    // Gone means fresh: the next hit starts a new count, unblocked.
    expect(tuple(await own.increment(key, 1000, 1, 3000, 'default'))).toEqual([1, 1, F, 0]);
  });
});
