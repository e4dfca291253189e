import {
  AbortError,
  ConfigurationError,
  PoolClosedError,
} from '../../lib/errors/redis-pool.errors';
import { ConnectionPool } from '../../lib/pool/connection-pool';
import type { PoolOptions } from '../../lib/pool/pool-options';
import { startRedisServer, type RedisServerHandle } from '../harness';
import {
  expectNothingOpen,
  sleep,
  uniqueName,
  watchUnhandledRejections,
} from '../pool/pool-checks';
import { commandCalls } from './cache-checks';

describe('client-side cache: limits, options and call semantics', () => {
  watchUnhandledRejections();
  let server: RedisServerHandle;
  let pool: ConnectionPool;
  let name: string;

  beforeAll(async () => {
    server = await startRedisServer();
    await server.cli('MSET', 'a', '1', 'b', '2', 'c', '3', 'big', 'x'.repeat(2000));
  });
  afterAll(() => server.dispose());
  afterEach(() => expectNothingOpen(pool, server, name));

  const open = (cache: PoolOptions['clientSideCache'] = {}, options: PoolOptions = {}) => {
    name = uniqueName('limits');
    pool = new ConnectionPool({
      host: server.host,
      port: server.port,
      clientName: name,
      protocol: 3,
      clientSideCache: cache,
      ...options,
    });
    return pool;
  };

  it('evicts the least recently used entry beyond maxEntries', async () => {
    open({ maxEntries: 2 });
    await pool.executeCommand('GET', 'a');
    await pool.executeCommand('GET', 'b');
    await pool.executeCommand('GET', 'a'); // a is now the most recently used
    await pool.executeCommand('GET', 'c'); // evicts b
    expect(pool.cacheStats()).toMatchObject({ entries: 2, evictions: 1, hits: 1, misses: 3 });
    await pool.executeCommand('GET', 'a');
    await pool.executeCommand('GET', 'c');
    expect(pool.cacheStats()).toMatchObject({ hits: 3, misses: 3 });
    await pool.executeCommand('GET', 'b');
    expect(pool.cacheStats()).toMatchObject({ misses: 4, evictions: 2, entries: 2 });
    // The entry just stored is kept; the least recently used other one made room.
    await pool.executeCommand('GET', 'b');
    expect(pool.cacheStats()).toMatchObject({ hits: 4, misses: 4 });
  });

  it('evicts by bytes, and never keeps a reply larger than maxBytes', async () => {
    open({ maxBytes: 1000 });
    await expect(pool.executeCommand('GET', 'big')).resolves.toHaveLength(2000);
    expect(pool.cacheStats()).toMatchObject({ entries: 0, bytes: 0 });
    for (const key of ['a', 'b', 'c']) await pool.executeCommand('GET', key);
    const three = pool.cacheStats();
    expect(three.entries).toBe(3);
    expect(three.bytes).toBeGreaterThan(0);
    expect(three.bytes).toBeLessThanOrEqual(1000);
    // Entries of ~40 bytes each: filling past 1000 bytes evicts the oldest.
    for (let i = 0; i < 40; i++) await pool.executeCommand('GETRANGE', 'big', 0, i);
    const full = pool.cacheStats();
    expect(full.bytes).toBeLessThanOrEqual(1000);
    expect(full.evictions).toBeGreaterThan(0);
    await pool.executeCommand('GET', 'a');
    expect(pool.cacheStats().misses).toBe(full.misses + 1);
  });

  it('reads an entry again once it is older than ttlMs', async () => {
    open({ ttlMs: 1000 });
    await server.cli('CONFIG', 'RESETSTAT');
    await pool.executeCommand('GET', 'a');
    await pool.executeCommand('GET', 'a');
    expect(pool.cacheStats()).toMatchObject({ hits: 1, entries: 1 });
    await sleep(1200);
    await pool.executeCommand('GET', 'a');
    expect(pool.cacheStats()).toMatchObject({ hits: 1, misses: 2, evictions: 1, entries: 1 });
    expect(commandCalls(await server.cli('INFO', 'commandstats'), 'get')).toBe(2);
  });

  it('a hit keeps the call semantics: an aborted signal rejects, a closed pool refuses, a deadline holds', async () => {
    open();
    await pool.executeCommand('GET', 'a');
    const controller = new AbortController();
    controller.abort(new Error('gone'));
    const aborted = pool.execute('GET', ['a'], { signal: controller.signal });
    await expect(aborted).rejects.toBeInstanceOf(AbortError);
    await expect(aborted).rejects.toMatchObject({ commandMayHaveRun: false });
    await expect(pool.execute('GET', ['a'], { timeoutMs: 1 })).resolves.toBe('1');
    expect(pool.cacheStats()).toMatchObject({ hits: 1, entries: 1 });
    await pool.disconnect();
    await expect(pool.executeCommand('GET', 'a')).rejects.toBeInstanceOf(PoolClosedError);
    expect(pool.cacheStats().entries).toBe(0);
  });

  it('a bad argument is still a TypeError before any lookup', async () => {
    open();
    await expect(pool.executeCommand('GET', undefined as never)).rejects.toBeInstanceOf(TypeError);
  });

  it('refuses the option without RESP3, with exclusive dispatch, or with a mistyped or bad limit', () => {
    const base = { host: server.host, port: server.port };
    name = uniqueName('limits');
    pool = new ConnectionPool({ ...base, clientName: name });
    expect(() => new ConnectionPool({ ...base, clientSideCache: {} })).toThrow(ConfigurationError);
    expect(() => new ConnectionPool({ ...base, clientSideCache: {} })).toThrow(/protocol: 3/);
    expect(() => new ConnectionPool({ ...base, protocol: 2, clientSideCache: {} })).toThrow(
      /needs protocol: 3.*protocol is 2/,
    );
    expect(
      () =>
        new ConnectionPool({ ...base, protocol: 3, dispatch: 'exclusive', clientSideCache: {} }),
    ).toThrow(/dispatch: 'multiplexed'/);
    expect(
      () =>
        new ConnectionPool({ ...base, protocol: 3, clientSideCache: { maxEntires: 5 } as never }),
    ).toThrow(
      /unknown option `clientSideCache.maxEntires` \(did you mean `clientSideCache.maxEntries`\?\)/,
    );
    expect(
      () => new ConnectionPool({ ...base, protocol: 3, clientSideCache: { maxBytes: 0 } }),
    ).toThrow(/clientSideCache.maxBytes.*must be a positive integer/);
    expect(
      () => new ConnectionPool({ ...base, protocol: 3, clientSideCache: { ttlMs: -1 } }),
    ).toThrow(/clientSideCache.ttlMs.*must be a non-negative integer/);
    expect(
      () => new ConnectionPool({ ...base, protocol: 3, clientSideCache: true as never }),
    ).toThrow(/option clientSideCache must be an object/);
    expect(() =>
      ConnectionPool.fromUrl(`redis://${server.host}:${server.port}`, { clientSideCache: {} }),
    ).toThrow(/protocol: 3/);
    expect(pool.cacheStats()).toEqual({
      hits: 0,
      misses: 0,
      evictions: 0,
      invalidations: 0,
      entries: 0,
      bytes: 0,
    });
  });

  it('takes protocol=3 from the URL', async () => {
    name = uniqueName('limits');
    pool = ConnectionPool.fromUrl(`redis://${server.host}:${server.port}?protocol=3`, {
      clientName: name,
      clientSideCache: {},
    });
    await pool.executeCommand('GET', 'a');
    await pool.executeCommand('GET', 'a');
    expect(pool.cacheStats().hits).toBe(1);
  });
});
