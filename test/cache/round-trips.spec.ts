import { createCache } from 'cache-manager';
import { Keyv } from 'keyv';
import { RedisKeyvStore } from '../../lib/cache';
import { RedisService } from '../../lib/client/redis.service';
import { ConnectionPool } from '../../lib/pool/connection-pool';
import { useRedisServer } from '../harness';
import { commandCalls, eventually, ReplyGate } from './cache-helpers';

/**
 * A batch costs one round trip when every one of its commands reaches the server while the server's replies are
 * held back: a client waiting for a reply between commands would get no further than the first one.
 */
describe('RedisKeyvStore batches: one round trip each', () => {
  const server = useRedisServer();
  let gate: ReplyGate;
  let pool: ConnectionPool;
  let store: RedisKeyvStore;
  let direct: ConnectionPool;
  let redis: RedisService;

  beforeAll(async () => {
    gate = await ReplyGate.start({ host: server().host, port: server().port });
    pool = ConnectionPool.fromUrl(gate.url);
    store = new RedisKeyvStore(new RedisService(pool), { namespace: 'rt' });
    direct = ConnectionPool.fromUrl(server().url);
    redis = new RedisService(direct);
    await pool.executeCommand('PING');
  });
  beforeEach(async () => {
    await redis.executeCommand('FLUSHDB');
  });
  afterAll(async () => {
    gate.release();
    await pool.disconnect();
    await direct.disconnect();
    await gate.close();
  });

  /**
   * Runs `batch` with the replies held until the server has run `command` `times` times; fails when it never
   * gets there (the client waited for a reply in between). Resolves what the batch resolved.
   */
  async function inOneRoundTrip<T>(
    command: string,
    times: number,
    batch: () => Promise<T>,
  ): Promise<T> {
    await redis.executeCommand('CONFIG', 'RESETSTAT');
    gate.hold();
    let settled = false;
    const result = batch().finally(() => {
      settled = true;
    });
    try {
      await eventually(
        async () => ((await commandCalls(server()))[command] ?? 0) >= times,
        `${times} ${command} with the replies held`,
        5000,
      );
      expect(settled).toBe(false);
    } finally {
      gate.release();
    }
    const value = await result;
    expect((await commandCalls(server()))[command]).toBe(times);
    return value;
  }

  it('setMany sends every SET before the first reply', async () => {
    const entries = Array.from({ length: 50 }, (_, i) => ({
      key: `k${i}`,
      value: `v${i}`,
      ttl: 60_000,
    }));
    const written = await inOneRoundTrip(
      'set',
      50,
      () => store.setMany(entries) as Promise<unknown>,
    );
    expect(written).toEqual(entries.map(() => true));
    expect(await redis.get('rt::k49')).toBe('v49');
  });

  it('getMany is one MGET, deleteMany one UNLINK, hasMany every EXISTS at once', async () => {
    const keys = Array.from({ length: 50 }, (_, i) => `k${i}`);
    await store.setMany(keys.map((key) => ({ key, value: key })));
    const values = await inOneRoundTrip('mget', 1, () => store.getMany([...keys, 'missing']));
    expect(values).toEqual([...keys, undefined]);
    const present = await inOneRoundTrip('exists', 51, () => store.hasMany([...keys, 'missing']));
    expect(present).toEqual([...keys.map(() => true), false]);
    expect(await inOneRoundTrip('unlink', 1, () => store.deleteMany(keys))).toBe(true);
    expect(await redis.dbsize()).toBe(0);
  });

  it("cache-manager's mset and mget through Keyv stay one round trip", async () => {
    const cache = createCache({
      stores: [new Keyv({ store: new RedisKeyvStore(new RedisService(pool)) })],
    });
    const list = Array.from({ length: 20 }, (_, i) => ({ key: `c${i}`, value: { i } }));
    await inOneRoundTrip('set', 20, () => cache.mset(list));
    const values = await inOneRoundTrip('mget', 1, () => cache.mget(list.map(({ key }) => key)));
    expect(values).toEqual(list.map(({ value }) => value));
  });
});
