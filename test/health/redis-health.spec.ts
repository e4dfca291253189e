import { Controller, Get, Module, Query } from '@nestjs/common';
import { HealthCheck, HealthCheckService, type HealthCheckResult } from '@nestjs/terminus';
import request from 'supertest';
import type { Connection } from '../../lib/connection/connection';
import { PoolExhaustedError } from '../../lib/errors/redis-pool.errors';
import { RedisHealthIndicator } from '../../lib/health/redis.health';
import { RedisHealthModule } from '../../lib/health/redis-health.module';
import type { RedisPool } from '../../lib/pool/redis-pool.interface';
import { getPoolToken } from '../../lib/nest/redis.tokens';
import { RedisPoolModule } from '../../lib/nest/redis-pool.module';
import { startRedisServer, type RedisServerHandle } from '../harness';
import { bootApp, closeApps, waitFor } from '../nest/nest-helpers';

const TIMEOUT_MS = 400;
/** Slack for scheduling, the HTTP round trip and Terminus itself. */
const MARGIN_MS = 600;

@Controller('health')
class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly redis: RedisHealthIndicator,
  ) {}

  @Get()
  @HealthCheck()
  check(@Query('pool') name?: string): Promise<HealthCheckResult> {
    return this.health.check([
      () => this.redis.isHealthy('redis', { name, timeoutMs: TIMEOUT_MS }),
    ]);
  }

  @Get('defaults')
  @HealthCheck()
  defaults(): Promise<HealthCheckResult> {
    return this.health.check([() => this.redis.isHealthy('redis')]);
  }
}

@Module({ imports: [RedisHealthModule], controllers: [HealthController] })
class HealthModule {}

interface HealthBody {
  status: string;
  info?: Record<string, Record<string, unknown>>;
  error?: Record<string, Record<string, unknown>>;
}

describe('RedisHealthIndicator', () => {
  let server: RedisServerHandle;
  beforeEach(async () => {
    server = await startRedisServer();
  });
  afterEach(async () => {
    if (server.frozen) server.resume();
    await closeApps();
    await server.dispose();
  });

  const boot = () =>
    bootApp({
      imports: [
        RedisPoolModule.forRoot({ url: server.url, maxConnections: 2, acquireTimeoutMs: 300 }),
        RedisPoolModule.forRoot({ name: 'cache', url: server.url, db: 1 }),
        HealthModule,
      ],
    });

  const get = async (app: Awaited<ReturnType<typeof boot>>['app'], path = '/health') => {
    const started = Date.now();
    const response = await request(app.getHttpServer()).get(path);
    return { status: response.status, body: response.body as HealthBody, ms: Date.now() - started };
  };

  it('reports up with the PING round trip and the pool stats', async () => {
    const { app } = await boot();
    const { status, body } = await get(app);
    expect(status).toBe(200);
    expect(body.status).toBe('ok');
    expect(body.info?.redis).toEqual({
      status: 'up',
      responseTimeMs: expect.any(Number),
      total: expect.any(Number),
      idle: expect.any(Number),
      leased: 0,
      connecting: expect.any(Number),
      pending: expect.any(Number),
      queued: expect.any(Number),
      waiting: 0,
      maxConnections: 2,
      maxLeases: 2,
      deepestPipeline: expect.any(Number),
      timeouts: 0,
      commandTimeouts: 0,
      reconnects: 0,
      retries: 0,
      resendsRefused: 0,
      leaseWaitP50Ms: expect.any(Number),
      leaseWaitP99Ms: expect.any(Number),
      leaseWaitMaxMs: expect.any(Number),
    });
    expect(await get(app, '/health?pool=cache')).toMatchObject({
      status: 200,
      body: { info: { redis: { status: 'up' } } },
    });
  });

  it('reports down with the reason when the server is stopped, then up again', async () => {
    const { app } = await boot();
    expect((await get(app)).status).toBe(200);
    await server.stop();
    const down = await get(app);
    expect(down.status).toBe(503);
    expect(down.ms).toBeLessThan(TIMEOUT_MS + MARGIN_MS);
    expect(down.body.error?.redis).toEqual({ status: 'down', message: expect.any(String) });
    expect(String(down.body.error?.redis.message)).toMatch(/ECONNREFUSED|closed|connect/i);
    await server.start();
    await waitFor(async () => (await get(app)).status === 200, 5000, 'health to recover');
  });

  it('answers 503 within the timeout when the server is frozen', async () => {
    const { app } = await boot();
    expect((await get(app)).status).toBe(200);
    server.freeze();
    const frozen = await get(app);
    server.resume();
    expect(frozen.status).toBe(503);
    expect(frozen.ms).toBeGreaterThanOrEqual(TIMEOUT_MS - 50);
    expect(frozen.ms).toBeLessThan(TIMEOUT_MS + MARGIN_MS);
    // The pool's own deadline and the indicator's timer fire together; either reason may win.
    expect(frozen.body.error?.redis.message).toMatch(
      new RegExp(`within ${TIMEOUT_MS} ms|timed out`),
    );
  });

  it('stays up while every lease is held: leases have their own budget, the shared path answers', async () => {
    const { app } = await boot();
    const pool = app.get<RedisPool>(getPoolToken());
    const { maxLeases } = pool.stats();
    const leases: Connection[] = [];
    for (let i = 0; i < maxLeases; i++) leases.push(await pool.getConnection());
    try {
      await expect(pool.getConnection()).rejects.toThrow(PoolExhaustedError);
      const busy = await get(app);
      expect(busy.status).toBe(200);
      expect(busy.body.info?.redis).toMatchObject({ status: 'up', leased: maxLeases });
    } finally {
      leases.forEach((lease) => pool.release(lease));
    }
    expect((await get(app)).status).toBe(200);
  });

  it('takes the pool and timeout defaults from RedisHealthModule.register()', async () => {
    @Module({
      imports: [RedisHealthModule.register({ name: 'cache', timeoutMs: 300 })],
      controllers: [HealthController],
    })
    class RegisteredHealthModule {}
    const { app } = await bootApp({
      imports: [
        RedisPoolModule.forRoot({ name: 'cache', url: server.url, isGlobal: true }),
        RegisteredHealthModule,
      ],
    });
    expect(await get(app, '/health/defaults')).toMatchObject({
      status: 200,
      body: { info: { redis: { status: 'up' } } },
    });
    server.freeze();
    const frozen = await get(app, '/health/defaults');
    server.resume();
    expect(frozen.status).toBe(503);
    expect(frozen.body.error?.redis.message).toMatch(/within 300 ms|timed out/);
    expect(frozen.ms).toBeLessThan(300 + MARGIN_MS);
  });
});
