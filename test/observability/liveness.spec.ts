import { Controller, Get, Module } from '@nestjs/common';
import { HealthCheck, HealthCheckService, type HealthCheckResult } from '@nestjs/terminus';
import request from 'supertest';
import { PoolLiveness } from '../../lib/health/pool-liveness';
import { RedisHealthIndicator } from '../../lib/health/redis.health';
import { RedisHealthModule } from '../../lib/health/redis-health.module';
import { RedisPoolModule } from '../../lib/nest/redis-pool.module';
import { ConnectionPool } from '../../lib/pool/connection-pool';
import type { PoolOptions } from '../../lib/pool/pool-options';
import { startRedisServer, type RedisServerHandle } from '../harness';
import { bootApp, closeApps } from '../nest/nest-helpers';
import { expectNothingOpen, uniqueName } from '../pool/pool-checks';
import { sleep } from './channel-recorder';

@Controller()
class ProbeController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly redis: RedisHealthIndicator,
  ) {}

  @Get('live')
  @HealthCheck()
  live(): Promise<HealthCheckResult> {
    return this.health.check([() => this.redis.isAlive('redis')]);
  }

  @Get('ready')
  @HealthCheck()
  ready(): Promise<HealthCheckResult> {
    return this.health.check([() => this.redis.isHealthy('redis', { timeoutMs: 300 })]);
  }
}

@Module({ imports: [RedisHealthModule], controllers: [ProbeController] })
class ProbeModule {}

describe('liveness vs readiness over HTTP', () => {
  let server: RedisServerHandle;
  beforeEach(async () => {
    server = await startRedisServer();
  });
  afterEach(async () => {
    if (server.frozen) server.resume();
    await closeApps();
    await server.dispose();
  });

  const boot = async () => {
    const { app } = await bootApp({
      imports: [
        RedisPoolModule.forRoot({
          url: server.url,
          connectTimeoutMs: 300,
          commandTimeoutMs: 300,
          retry: { attempts: 2, baseDelayMs: 20, maxDelayMs: 100 },
        }),
        ProbeModule,
      ],
    });
    const probe = async (path: string) => {
      const started = Date.now();
      const response = await request(app.getHttpServer()).get(path);
      return { status: response.status, body: response.body, ms: Date.now() - started };
    };
    return probe;
  };

  it('both up while Redis serves', async () => {
    const probe = await boot();
    expect(await probe('/ready')).toMatchObject({ status: 200 });
    const live = await probe('/live');
    expect(live.status).toBe(200);
    expect(live.body.info.redis).toMatchObject({ status: 'up', state: 'serving', leased: 0 });
  });

  it('killed server: not ready, still alive (redis_unreachable)', async () => {
    const probe = await boot();
    await probe('/ready');
    await server.kill();
    expect((await probe('/ready')).status).toBe(503);
    const live = await probe('/live');
    expect(live.status).toBe(200);
    expect(live.body.info.redis).toMatchObject({ status: 'up', state: 'redis_unreachable' });
  });

  it('frozen server (SIGSTOP): not ready within its timeout, alive at once', async () => {
    const probe = await boot();
    await probe('/ready');
    server.freeze();
    const ready = await probe('/ready');
    expect(ready.status).toBe(503);
    expect(ready.ms).toBeLessThan(300 + 1500);
    const live = await probe('/live');
    expect(live.status).toBe(200);
    expect(live.body.info.redis.status).toBe('up');
    expect(live.ms).toBeLessThan(1500);
    server.resume();
  });
});

describe('PoolLiveness: wedged only when the pool itself is stuck', () => {
  let server: RedisServerHandle;
  let pool: ConnectionPool;
  let name: string;
  let liveness: PoolLiveness;

  beforeEach(async () => {
    server = await startRedisServer();
    liveness = new PoolLiveness();
  });
  afterEach(async () => {
    liveness.stop();
    await expectNothingOpen(pool, server, name);
    await server.dispose();
  });

  const open = (options: PoolOptions = {}) => {
    name = uniqueName('live');
    pool = new ConnectionPool({ url: server.url, clientName: name, ...options });
    return pool;
  };

  it('leases held past the bound while callers wait: wedged (leaked leases); released: alive', async () => {
    open({ maxLeases: 1, acquireTimeoutMs: 5000 });
    const leaked = await pool.getConnection();
    expect(liveness.check(pool, { leaseHeldForMs: 100 })).toMatchObject({ alive: true });
    const waiting = pool.getConnection();
    expect(liveness.check(pool, { leaseHeldForMs: 100 })).toMatchObject({ alive: true });
    await sleep(150);
    const stuck = liveness.check(pool, { leaseHeldForMs: 100 });
    expect(stuck).toMatchObject({ alive: false, state: 'wedged' });
    expect(stuck.details.message).toMatch(/all 1 leases held for over 100 ms while 1 callers wait/);
    pool.release(leaked);
    pool.release(await waiting);
    expect(liveness.check(pool, { leaseHeldForMs: 100 })).toMatchObject({ alive: true });
  });

  it('a lease held for ever with nobody waiting (a blocking worker) stays alive', async () => {
    open({ maxLeases: 1 });
    const worker = await pool.getConnection();
    await sleep(120);
    expect(liveness.check(pool, { leaseHeldForMs: 50 })).toMatchObject({
      alive: true,
      state: 'serving',
    });
    pool.release(worker);
  });

  it('the queue full for longer than queueFullForMs: wedged', async () => {
    open({ maxLeases: 1, maxQueueLength: 2, acquireTimeoutMs: 5000 });
    const held = await pool.getConnection();
    const waiters = [pool.getConnection(), pool.getConnection()];
    const options = { queueFullForMs: 100, leaseHeldForMs: 60_000 };
    expect(liveness.check(pool, options)).toMatchObject({ alive: true });
    await sleep(150);
    const stuck = liveness.check(pool, options);
    expect(stuck).toMatchObject({ alive: false, state: 'wedged' });
    expect(stuck.details.message).toMatch(/the queue has been full \(2\)/);
    pool.release(held);
    for (const waiter of waiters) pool.release(await waiter);
    expect(liveness.check(pool, options)).toMatchObject({ alive: true });
  });

  it('the event loop blocked past the bound: wedged at the next check, alive after', async () => {
    open();
    expect(liveness.check(pool, { maxEventLoopDelayMs: 200 }).alive).toBe(true);
    await sleep(50);
    const until = Date.now() + 400;
    while (Date.now() < until) {
      // Blocks the event loop, as a stuck synchronous loop would.
    }
    await sleep(50);
    const blocked = liveness.check(pool, { maxEventLoopDelayMs: 200 });
    expect(blocked).toMatchObject({ alive: false, state: 'wedged' });
    expect(blocked.details.message).toMatch(/event loop was blocked for \d+ ms/);
    await sleep(50);
    expect(liveness.check(pool, { maxEventLoopDelayMs: 200 }).alive).toBe(true);
  });

  it('reports shutting_down during the drain, alive', async () => {
    open();
    const lease = await pool.getConnection();
    const closing = pool.disconnect({ drainTimeoutMs: 2000 });
    expect(liveness.check(pool)).toMatchObject({ alive: true, state: 'shutting_down' });
    pool.release(lease);
    await closing;
  });
});
