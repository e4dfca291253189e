import { createCache } from 'cache-manager';
import { Keyv } from 'keyv';
import { RedisKeyvStore } from '../../lib/cache';
import { RedisService } from '../../lib/client/redis.service';
import {
  ConnectionError,
  RedisError,
  ResponseError,
  TimeoutError,
} from '../../lib/errors/redis-pool.errors';
import { ConnectionPool } from '../../lib/pool/connection-pool';
import { startRedisServer, type RedisServerHandle } from '../harness';
import { eventually } from './cache-helpers';

/** Settles `promise` and says how long it took, so a test can show that nothing hangs. */
async function timed<T>(promise: Promise<T>): Promise<{ value?: T; error?: unknown; ms: number }> {
  const started = Date.now();
  try {
    return { value: await promise, ms: Date.now() - started };
  } catch (error) {
    return { error, ms: Date.now() - started };
  }
}

async function drain(iterator: AsyncIterable<unknown>): Promise<unknown[]> {
  const entries: unknown[] = [];
  for await (const entry of iterator) entries.push(entry);
  return entries;
}

describe('RedisKeyvStore when Redis fails', () => {
  let server: RedisServerHandle;
  let pool: ConnectionPool;
  let redis: RedisService;

  beforeEach(async () => {
    server = await startRedisServer();
    pool = ConnectionPool.fromUrl(server.url, { commandTimeoutMs: 500, connectTimeoutMs: 500 });
    redis = new RedisService(pool);
  });
  afterEach(async () => {
    if (server.frozen) server.resume();
    await pool.disconnect({ drainTimeoutMs: 100 });
    await server.dispose();
  });

  it('by default emits the typed error through Keyv and resolves a miss, fast, when the server died', async () => {
    const keyv = new Keyv({ store: new RedisKeyvStore(redis) });
    const errors: unknown[] = [];
    keyv.on('error', (error) => errors.push(error));
    await keyv.set('a', 1);
    await server.kill();

    const results = await Promise.all([
      timed(keyv.get('a')),
      timed(keyv.set('a', 2)),
      timed(keyv.getMany(['a', 'b'])),
      timed(keyv.setMany([{ key: 'a', value: 3 }])),
      timed(keyv.has('a')),
      timed(keyv.delete('a')),
      timed(keyv.deleteMany(['a', 'b'])),
      timed(keyv.clear()),
      timed(drain(keyv.iterator!(undefined))),
    ]);
    expect(results.map((result) => result.error)).toEqual(results.map(() => undefined));
    expect(results.map((result) => result.value)).toEqual([
      undefined,
      false,
      [undefined, undefined],
      [false],
      false,
      false,
      false,
      undefined,
      [],
    ]);
    for (const { ms } of results) expect(ms).toBeLessThan(5000);
    // One event per failed call, each a ConnectionError (the server is gone), none a bare string.
    expect(errors).toHaveLength(results.length);
    for (const error of errors) expect(error).toBeInstanceOf(ConnectionError);

    await server.start();
    await eventually(async () => (await keyv.set('back', true)) === true, 'Redis to be back');
    expect(await keyv.get('back')).toBe(true);
  });

  it('with throwOnErrors on the store and on Keyv, every call rejects with the typed error', async () => {
    const keyv = new Keyv({
      store: new RedisKeyvStore(redis, { throwOnErrors: true }),
      throwOnErrors: true,
    });
    keyv.on('error', () => undefined);
    await keyv.set('a', 1);
    await server.kill();
    const results = await Promise.all([
      timed(keyv.get('a')),
      timed(keyv.set('a', 2)),
      timed(keyv.getMany(['a', 'b'])),
      timed(keyv.setMany([{ key: 'a', value: 3 }])),
      timed(keyv.has('a')),
      timed(keyv.delete('a')),
      timed(keyv.deleteMany(['a'])),
      timed(keyv.clear()),
      timed(drain(keyv.iterator!(undefined))),
    ]);
    for (const { error, ms } of results) {
      expect(error).toBeInstanceOf(ConnectionError);
      expect(ms).toBeLessThan(5000);
    }
    const cache = createCache({ stores: [keyv] });
    await expect(cache.set('k', 'v')).rejects.toBeInstanceOf(ConnectionError);
    // cache-manager reports a failed read as a miss (and in its 'get' event), as with any store.
    expect(await cache.get('k')).toBeUndefined();
  });

  it('a frozen server: calls end at the command deadline with TimeoutError instead of hanging', async () => {
    const store = new RedisKeyvStore(redis, { namespace: 'f', throwOnErrors: true });
    const errors: unknown[] = [];
    store.on('error', (error) => errors.push(error));
    await store.set('a', '1');
    server.freeze();
    const results = await Promise.all([
      timed(store.get('a')),
      timed(store.getMany(['a', 'b'])),
      timed(store.setMany([{ key: 'a', value: '2' }]) as Promise<unknown>),
      timed(store.clear()),
    ]);
    for (const { error, ms } of results) {
      expect(error).toBeInstanceOf(TimeoutError);
      expect(ms).toBeLessThan(5000);
    }
    expect(errors).toHaveLength(results.length);
    // The SET was on the wire when its deadline passed, and the error says so: the server runs it once resumed.
    expect((results[2].error as TimeoutError).commandMayHaveRun).toBe(true);
    server.resume();
    expect(await store.get('a')).toBe('2');
  });

  it('an error reply (WRONGTYPE) is a ResponseError, emitted without a listener crashing nothing', async () => {
    await redis.rpush('l::list', 'x');
    const quiet = new RedisKeyvStore(redis, { namespace: 'l' });
    expect(await quiet.get('list')).toBeUndefined();
    const store = new RedisKeyvStore(redis, { namespace: 'l' });
    const errors: unknown[] = [];
    store.on('error', (error) => errors.push(error));
    expect(await store.getMany(['list', 'other'])).toEqual([undefined, undefined]);
    expect(await store.get('list')).toBeUndefined();
    await store.set('other', 'v');
    // MGET answers nil for a key of another type; GET refuses it.
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(ResponseError);
    expect((errors[0] as ResponseError).code).toBe('WRONGTYPE');
    expect(errors[0]).toBeInstanceOf(RedisError);
  });
});
