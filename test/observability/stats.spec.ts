import { ConnectionError, TimeoutError } from '../../lib/errors/redis-pool.errors';
import { WaitHistogram, WAIT_WINDOW_MS } from '../../lib/observability/wait-histogram';
import { ConnectionPool } from '../../lib/pool/connection-pool';
import type { PoolOptions } from '../../lib/pool/pool-options';
import { addStats, emptyStats } from '../../lib/pool/redis-pool.interface';
import { startRedisServer, startTcpProxy, type RedisServerHandle, type TcpProxy } from '../harness';
import { expectNothingOpen, uniqueName, watchUnhandledRejections } from '../pool/pool-checks';
import { sleep } from './channel-recorder';

describe('stats() counters for metrics', () => {
  watchUnhandledRejections();
  let server: RedisServerHandle;
  let pool: ConnectionPool;
  let name: string;
  let proxy: TcpProxy | undefined;

  beforeEach(async () => {
    server = await startRedisServer();
  });

  afterEach(async () => {
    if (server.frozen) server.resume();
    await expectNothingOpen(pool, server.running ? server : null, name);
    await proxy?.close();
    proxy = undefined;
    await server.dispose();
  });

  const open = (options: PoolOptions = {}) => {
    name = uniqueName('stats');
    pool = new ConnectionPool({
      host: server.host,
      port: server.port,
      clientName: name,
      retry: { attempts: 3, baseDelayMs: 20, maxDelayMs: 100 },
      ...options,
    });
    return pool;
  };

  it('has exactly the keys of emptyStats(), all zero on a fresh pool', async () => {
    const stats = open().stats();
    expect(Object.keys(stats).sort()).toEqual(Object.keys(emptyStats()).sort());
    expect(stats).toMatchObject({
      timeouts: 0,
      commandTimeouts: 0,
      reconnects: 0,
      retries: 0,
      resendsRefused: 0,
      deepestPipeline: 0,
      leaseWaitP99Ms: 0,
    });
  });

  it('counts a read resent after its connection died, and a write refused (at-most-once)', async () => {
    proxy = await startTcpProxy({ host: server.host, port: server.port });
    open({ host: proxy.host, port: proxy.port });
    await pool.executeCommand('SET', 'k', 'v');
    proxy.setDelay(300); // written, replies not back yet
    const read = pool.executeCommand('GET', 'k');
    const write = pool.executeCommand('INCR', 'n').catch((e: unknown) => e);
    await sleep(50);
    proxy.setDelay(0);
    proxy.cutAll();
    await expect(read).resolves.toBe('v');
    const error = await write;
    expect(error).toBeInstanceOf(ConnectionError);
    expect((error as ConnectionError).commandMayHaveRun).toBe(true);
    expect(pool.stats()).toMatchObject({ retries: 1, resendsRefused: 1, reconnects: 1 });
  });

  it('counts a command timed out on its connection, and one timed out waiting for a connection', async () => {
    open({ commandTimeoutMs: 150, connectTimeoutMs: 2000 });
    await expect(
      pool.execute('DEBUG', ['SLEEP', '0.4'], { timeoutMs: 100 }),
    ).rejects.toBeInstanceOf(TimeoutError);
    expect(pool.stats()).toMatchObject({ commandTimeouts: 1, timeouts: 0 });
    await pool.disconnect();

    open({ commandTimeoutMs: 150, connectTimeoutMs: 2000 });
    server.freeze(); // accepts, never answers the handshake
    await expect(pool.executeCommand('GET', 'k')).rejects.toBeInstanceOf(TimeoutError);
    expect(pool.stats()).toMatchObject({ commandTimeouts: 0, timeouts: 1 });
    server.resume();
  });

  it('keeps lease-wait percentiles: immediate leases count as 0, a wait as its length', async () => {
    open({ maxLeases: 1 });
    await pool.executeCommand('PING');
    for (let i = 0; i < 3; i++) pool.release(await pool.getConnection());
    const held = await pool.getConnection();
    const waiting = pool.getConnection();
    await sleep(80);
    pool.release(held);
    pool.release(await waiting);
    const stats = pool.stats();
    expect(stats.leaseWaitP50Ms).toBe(0);
    expect(stats.leaseWaitP99Ms).toBeGreaterThanOrEqual(60);
    expect(stats.leaseWaitMaxMs).toBeGreaterThanOrEqual(stats.leaseWaitP99Ms);
  });

  it('reports the deepest multiplexed pipeline', async () => {
    open({ maxConnections: 1 });
    await pool.executeCommand('PING');
    const replies = Array.from({ length: 50 }, () => pool.executeCommand('PING'));
    expect(pool.stats().deepestPipeline).toBe(50);
    await Promise.all(replies);
    expect(pool.stats().deepestPipeline).toBe(0);
  });
});

describe('addStats', () => {
  it('adds counts and takes the maximum of levels and percentiles', () => {
    const total = emptyStats();
    addStats(total, {
      ...emptyStats(4, 4),
      total: 2,
      retries: 1,
      leaseWaitP99Ms: 30,
      deepestPipeline: 7,
    });
    addStats(total, {
      ...emptyStats(4, 4),
      total: 3,
      retries: 2,
      leaseWaitP99Ms: 10,
      deepestPipeline: 9,
    });
    expect(total).toMatchObject({
      total: 5,
      retries: 3,
      maxConnections: 8,
      leaseWaitP99Ms: 30,
      deepestPipeline: 9,
    });
  });
});

describe('WaitHistogram', () => {
  it('gives percentiles within a bucket (19 %) of the truth, never above the max', () => {
    const h = new WaitHistogram();
    const now = Date.now();
    for (let i = 1; i <= 1000; i++) h.record(i, now);
    const p50 = h.percentile(0.5, now);
    const p99 = h.percentile(0.99, now);
    expect(p50).toBeGreaterThanOrEqual(500);
    expect(p50).toBeLessThanOrEqual(500 * 1.19);
    expect(p99).toBeGreaterThanOrEqual(990);
    expect(p99).toBeLessThanOrEqual(1000);
    expect(h.max(now)).toBe(1000);
    expect(h.percentile(0, now)).toBeLessThanOrEqual(1.19);
  });

  it('forgets what is older than two windows', () => {
    const h = new WaitHistogram();
    const now = Date.now();
    h.record(500, now);
    expect(h.percentile(0.5, now + WAIT_WINDOW_MS)).toBeGreaterThanOrEqual(500);
    h.record(1, now + WAIT_WINDOW_MS);
    expect(h.max(now + 2 * WAIT_WINDOW_MS + 1)).toBe(1);
    expect(h.percentile(0.99, now + 4 * WAIT_WINDOW_MS)).toBe(0);
    expect(h.count).toBe(2);
  });
});
