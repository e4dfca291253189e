import { ConnectionPool } from '../../lib/pool/connection-pool';
import type { PoolOptions } from '../../lib/pool/pool-options';
import { RedisService } from '../../lib/client/redis.service';
import { startRedisServer, type RedisServerHandle } from '../harness';
import { expectNothingOpen, uniqueName, watchUnhandledRejections } from '../pool/pool-checks';
import { commandCalls, watchConnections } from './cache-checks';

describe('client-side cache: hits, invalidation, copies', () => {
  watchUnhandledRejections();
  const watch = watchConnections();
  let server: RedisServerHandle;
  let writer: ConnectionPool;
  let pool: ConnectionPool;
  let name: string;

  beforeAll(async () => {
    server = await startRedisServer();
    writer = new ConnectionPool({ host: server.host, port: server.port });
  });
  afterAll(async () => {
    await writer.disconnect();
    await server.dispose();
  });
  afterEach(async () => {
    await expectNothingOpen(pool, server, name);
    await writer.executeCommand('FLUSHALL');
  });

  const open = (options: PoolOptions = {}) => {
    name = uniqueName('cache');
    pool = new ConnectionPool({
      host: server.host,
      port: server.port,
      clientName: name,
      protocol: 3,
      clientSideCache: {},
      ...options,
    });
    return pool;
  };
  const getCalls = async () => commandCalls(await server.cli('INFO', 'commandstats'), 'get');

  it('every connection of the pool has tracking on from its handshake; a pool without the option has not', async () => {
    open({ minIdle: 2 });
    await pool.executeCommand('PING');
    await pool.withConnection((c) => c.executeCommand('PING'));
    const ours = (await server.clientList()).filter((c) => c.name === name);
    expect(ours.length).toBeGreaterThanOrEqual(2);
    for (const client of ours) expect(client.flags).toContain('t');
    await writer.executeCommand('PING');
    const others = (await server.clientList()).filter((c) => c.name !== name);
    for (const client of others) expect(client.flags).not.toContain('t');
  });

  it('answers a repeated read from the cache without touching the server, and counts it', async () => {
    open();
    await writer.executeCommand('SET', 'k', 'v1');
    await server.cli('CONFIG', 'RESETSTAT');
    await expect(pool.executeCommand('GET', 'k')).resolves.toBe('v1');
    for (let i = 0; i < 5; i++) await expect(pool.executeCommand('GET', 'k')).resolves.toBe('v1');
    expect(await getCalls()).toBe(1);
    expect(pool.cacheStats()).toMatchObject({ hits: 5, misses: 1, entries: 1, invalidations: 0 });
    expect(pool.cacheStats().bytes).toBeGreaterThan(0);
  });

  it('returns the new value on the first read after another client’s write was pushed', async () => {
    open();
    await writer.executeCommand('SET', 'k', 'v1');
    await expect(pool.executeCommand('GET', 'k')).resolves.toBe('v1');
    await expect(pool.executeCommand('GET', 'k')).resolves.toBe('v1');
    const pushed = watch.invalidated('k');
    await writer.executeCommand('SET', 'k', 'v2');
    await pushed;
    expect(pool.cacheStats()).toMatchObject({ entries: 0, invalidations: 1 });
    await expect(pool.executeCommand('GET', 'k')).resolves.toBe('v2');
    await expect(pool.executeCommand('GET', 'k')).resolves.toBe('v2');
    expect(pool.cacheStats()).toMatchObject({ hits: 2, misses: 2, entries: 1 });
  });

  it('drops a key at once when this pool writes it, before any push', async () => {
    open();
    const redis = new RedisService(pool);
    await redis.set('k', 'v1');
    await expect(redis.get('k')).resolves.toBe('v1');
    await expect(redis.get('k')).resolves.toBe('v1');
    await redis.set('k', 'v2');
    await expect(redis.get('k')).resolves.toBe('v2');
    await redis.hset('h', { f: '1' });
    await expect(redis.hgetall('h')).resolves.toEqual({ f: '1' });
    await redis.del('h');
    await expect(redis.hgetall('h')).resolves.toEqual({});
  });

  it('drops keys written through a lease, a multi() and a transaction', async () => {
    open();
    const redis = new RedisService(pool);
    await redis.set('k', 'v1');
    await redis.get('k');
    await expect(redis.get('k')).resolves.toBe('v1');
    await pool.withConnection((c) => c.executeCommand('SET', 'k', 'v2'));
    await expect(redis.get('k')).resolves.toBe('v2');
    await redis.multi().set('k', 'v3').exec();
    await expect(redis.get('k')).resolves.toBe('v3');
    expect(pool.cacheStats().hits).toBeGreaterThanOrEqual(1);
  });

  it('keeps Buffer and string replies apart and hands out copies', async () => {
    open();
    await writer.executeCommand('SET', 'k', 'v1');
    await writer.executeCommand('HSET', 'h', 'f', 'x', 'g', 'y');
    await writer.executeCommand('RPUSH', 'l', 'a', 'b');
    await expect(pool.executeCommand('GET', 'k')).resolves.toBe('v1');
    const bytes = await pool.execute<Buffer>('GET', ['k'], { buffers: true });
    expect(Buffer.isBuffer(bytes)).toBe(true);
    bytes.fill(0);
    await expect(pool.execute('GET', ['k'], { buffers: true })).resolves.toEqual(Buffer.from('v1'));
    await expect(pool.executeCommand('GET', 'k')).resolves.toBe('v1');
    const hash = await pool.executeCommand<Record<string, string>>('HGETALL', 'h');
    hash.f = 'changed';
    await expect(pool.executeCommand('HGETALL', 'h')).resolves.toEqual({ f: 'x', g: 'y' });
    const list = await pool.executeCommand<string[]>('LRANGE', 'l', 0, -1);
    list.push('c');
    const hit = await pool.executeCommand<string[]>('LRANGE', 'l', 0, -1);
    expect(hit).toEqual(['a', 'b']);
    hit.push('d');
    await expect(pool.executeCommand('LRANGE', 'l', 0, -1)).resolves.toEqual(['a', 'b']);
    const hitBytes = await pool.execute<Buffer>('GET', ['k'], { buffers: true });
    hitBytes.fill(0);
    await expect(pool.execute('GET', ['k'], { buffers: true })).resolves.toEqual(Buffer.from('v1'));
    expect(pool.cacheStats()).toMatchObject({ entries: 4, hits: 7 });
  });

  it('keys entries by every argument: no two argument lists share one', async () => {
    open();
    await writer.executeCommand('SET', 'k', 'abcdefghijklmnopqrstuvwxyz');
    await expect(pool.executeCommand('GETRANGE', 'k', '1', '23')).resolves.toBe(
      'bcdefghijklmnopqrstuvwx',
    );
    await expect(pool.executeCommand('GETRANGE', 'k', '12', '3')).resolves.toBe('');
    await expect(pool.executeCommand('GETRANGE', 'k', 1, 23)).resolves.toBe(
      'bcdefghijklmnopqrstuvwx',
    );
    await expect(pool.executeCommand('GETRANGE', 'k', Buffer.from('1'), '23')).resolves.toBe(
      'bcdefghijklmnopqrstuvwx',
    );
    await expect(pool.executeCommand('GETRANGE', 'k', '12', '3')).resolves.toBe('');
    expect(pool.cacheStats()).toMatchObject({ entries: 4, hits: 1, misses: 4 });
  });

  it('never caches non-deterministic, multi-key or write commands', async () => {
    open();
    await writer.executeCommand('SADD', 's', 'a', 'b', 'c');
    await writer.executeCommand('MSET', 'a', '1', 'b', '2');
    for (let i = 0; i < 2; i++) {
      await pool.executeCommand('SRANDMEMBER', 's');
      await pool.executeCommand('RANDOMKEY');
      await pool.executeCommand('TIME');
      await pool.executeCommand('MGET', 'a', 'b');
      await pool.executeCommand('TTL', 'a');
    }
    expect(pool.cacheStats()).toMatchObject({ hits: 0, misses: 0, entries: 0 });
  });

  it('clears everything on FLUSHALL from another client', async () => {
    open();
    await writer.executeCommand('MSET', 'a', '1', 'b', '2');
    await pool.executeCommand('GET', 'a');
    await pool.executeCommand('GET', 'b');
    expect(pool.cacheStats().entries).toBe(2);
    const flushed = watch.invalidated(null);
    await writer.executeCommand('FLUSHALL');
    await flushed;
    expect(pool.cacheStats().entries).toBe(0);
    await expect(pool.executeCommand('GET', 'a')).resolves.toBeNull();
  });
});
