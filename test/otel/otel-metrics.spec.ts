import { ConnectionError, PoolExhaustedError } from '../../lib/errors/redis-pool.errors';
import { ConnectionPool } from '../../lib/pool/connection-pool';
import { startRedisServer, type RedisServerHandle } from '../harness';
import { expectNothingOpen, uniqueName, watchUnhandledRejections } from '../pool/pool-checks';
import { eventually, sleep } from '../observability/channel-recorder';
import { pointValue, useOtel } from './otel-helpers';

const POOL = { 'db.client.connection.pool.name': 'orders' };
const IDLE = { ...POOL, 'db.client.connection.state': 'idle' };
const USED = { ...POOL, 'db.client.connection.state': 'used' };

describe('nestjs-redis-pool/otel metrics (real SDK, real redis-server)', () => {
  watchUnhandledRejections();
  const otel = useOtel();
  let server: RedisServerHandle;
  let pool: ConnectionPool;
  let name: string;

  beforeEach(async () => {
    server = await startRedisServer();
    name = uniqueName('otelm');
    pool = new ConnectionPool({
      host: server.host,
      port: server.port,
      clientName: name,
      name: 'orders',
      maxConnections: 2,
      maxLeases: 1,
      acquireTimeoutMs: 300,
      connectTimeoutMs: 300,
      retry: { attempts: 2, baseDelayMs: 20, maxDelayMs: 50 },
    });
  });

  afterEach(async () => {
    await expectNothingOpen(pool, server.running ? server : null, name);
    await server.dispose();
  });

  it('records db.client.operation.duration per operation, in seconds, with error.type on failures', async () => {
    await pool.executeCommand('SET', 'k', 'v');
    await pool.executeCommand('SET', 'k', 'v');
    await pool.executeCommand('LPUSH', 'k', 'x').catch(() => undefined);
    const metrics = await otel.metrics();
    const duration = metrics.get('db.client.operation.duration')!;
    expect(duration.descriptor.unit).toBe('s');
    const ok = {
      'db.operation.name': 'SET',
      'db.system.name': 'redis',
      'server.port': server.port,
    };
    expect(pointValue(duration, ok)).toBe(2);
    expect(pointValue(duration, { 'db.operation.name': 'LPUSH', 'error.type': 'WRONGTYPE' })).toBe(
      1,
    );
  });

  it('moves the pool metrics as leases are taken, waiters queue and time out', async () => {
    await pool.executeCommand('PING');
    let metrics = await otel.metrics();
    expect(pointValue(metrics.get('db.client.connection.count'), IDLE)).toBe(1);
    expect(pointValue(metrics.get('db.client.connection.count'), USED)).toBe(0);
    expect(pointValue(metrics.get('db.client.connection.max'), POOL)).toBe(3);
    expect(pointValue(metrics.get('db.client.connection.create_time'), POOL)).toBe(1);

    const held = await pool.getConnection();
    const waiters = [pool.getConnection(), pool.getConnection()];
    metrics = await otel.metrics();
    expect(pointValue(metrics.get('db.client.connection.count'), USED)).toBe(1);
    expect(pointValue(metrics.get('db.client.connection.pending_requests'), POOL)).toBe(2);

    const outcomes = await Promise.allSettled(waiters);
    expect(outcomes.map((o) => o.status)).toEqual(['rejected', 'rejected']);
    expect((outcomes[0] as PromiseRejectedResult).reason).toBeInstanceOf(PoolExhaustedError);
    pool.release(held);
    const again = await pool.getConnection();
    await sleep(20);
    pool.release(again);
    metrics = await otel.metrics();
    expect(pointValue(metrics.get('db.client.connection.pending_requests'), POOL)).toBe(0);
    expect(pointValue(metrics.get('db.client.connection.timeouts'), POOL)).toBe(2);
    expect(pointValue(metrics.get('db.client.connection.wait_time'), POOL)).toBe(2);
    expect(pointValue(metrics.get('db.client.connection.use_time'), POOL)).toBe(2);
    expect(metrics.get('db.client.connection.wait_time')!.descriptor.unit).toBe('s');
  });

  it('shows the multiplex depth, and connections dying and coming back', async () => {
    await pool.executeCommand('PING');
    const burst = Array.from({ length: 40 }, () => pool.executeCommand('PING'));
    const during = otel.metrics();
    let metrics = await during;
    expect(pointValue(metrics.get('nestjs_redis_pool.connection.multiplex_depth'), POOL)).toBe(40);
    await Promise.all(burst);

    await server.kill();
    await expect(pool.executeCommand('INCR', 'n')).rejects.toBeInstanceOf(ConnectionError);
    await eventually(() => pool.stats().total === 0);
    metrics = await otel.metrics();
    expect(pointValue(metrics.get('db.client.connection.count'), IDLE)).toBe(0);
    expect(pointValue(metrics.get('db.client.connection.count'), USED)).toBe(0);

    await server.restart();
    await eventually(() => {
      void pool.executeCommand('PING').catch(() => undefined);
      return pool.stats().total > 0;
    }, 10_000);
    metrics = await otel.metrics();
    expect(pointValue(metrics.get('nestjs_redis_pool.connection.reconnects'), POOL)).toBe(1);
    const count = metrics.get('db.client.connection.count');
    expect(pointValue(count, IDLE)! + pointValue(count, USED)!).toBeGreaterThanOrEqual(1);
  });

  it('stops reporting a pool once it is closed', async () => {
    await pool.executeCommand('PING');
    await pool.disconnect();
    const metrics = await otel.metrics();
    expect(pointValue(metrics.get('db.client.connection.count'), IDLE)).toBeUndefined();
  });
});
