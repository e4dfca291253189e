import { inspect } from 'node:util';
import { Controller, Get, Module, Post } from '@nestjs/common';
import { HealthCheck, HealthCheckService, type HealthCheckResult } from '@nestjs/terminus';
import request from 'supertest';
import { RedisService } from '../../lib/client/redis.service';
import { RedisHealthIndicator } from '../../lib/health/redis.health';
import { RedisHealthModule } from '../../lib/health/redis-health.module';
import { InjectPool, InjectRedis } from '../../lib/nest/redis.decorators';
import { RedisPoolModule } from '../../lib/nest/redis-pool.module';
import { getRedisPoolOptionsToken } from '../../lib/nest/redis.tokens';
import type { RedisPool } from '../../lib/pool/redis-pool.interface';
import { SentinelPool } from '../../lib/sentinel/sentinel-pool';
import { useRedisSentinel } from '../harness';
import { bootApp, closeApps } from '../nest/nest-helpers';

const PASSWORD = 'nest-data-Pw-3k';
const SENTINEL_PASSWORD = 'nest-sentinel-Pw-8z';

@Controller()
class VisitsController {
  constructor(
    @InjectRedis() private readonly redis: RedisService,
    @InjectPool() private readonly pool: RedisPool,
    private readonly health: HealthCheckService,
    private readonly indicator: RedisHealthIndicator,
  ) {}

  @Post('visits')
  async visit(): Promise<{ visits: number; sentinel: boolean }> {
    return { visits: await this.redis.incr('visits'), sentinel: this.pool instanceof SentinelPool };
  }

  @Get('health')
  @HealthCheck()
  check(): Promise<HealthCheckResult> {
    return this.health.check([() => this.indicator.isHealthy('redis', { timeoutMs: 500 })]);
  }
}

@Module({ imports: [RedisHealthModule], controllers: [VisitsController] })
class VisitsModule {}

describe('RedisPoolModule in sentinel mode', () => {
  const topology = useRedisSentinel({ password: PASSWORD, sentinelPassword: SENTINEL_PASSWORD });
  afterEach(async () => {
    for (const node of [...topology().dataNodes(), ...topology().sentinels()]) {
      if (node.frozen) node.resume();
    }
    await closeApps();
  });

  const boot = () =>
    bootApp({
      imports: [
        RedisPoolModule.forRoot({
          sentinel: {
            sentinels: topology().sentinelAddresses(),
            masterName: topology().masterName,
            sentinelPassword: SENTINEL_PASSWORD,
          },
          password: PASSWORD,
          connectTimeoutMs: 400,
          commandTimeoutMs: 400,
          startup: 'wait',
        }),
        VisitsModule,
      ],
    });

  it('injects a RedisService over a SentinelPool, and the health endpoint reports the master', async () => {
    const { app } = await boot();
    expect(app.get(SentinelPool)).toBeInstanceOf(SentinelPool);
    const visit = await request(app.getHttpServer()).post('/visits');
    expect(visit.body).toEqual({ visits: expect.any(Number), sentinel: true });
    const master = topology().master();
    const health = await request(app.getHttpServer()).get('/health');
    expect(health.status).toBe(200);
    expect(health.body.info.redis).toMatchObject({
      status: 'up',
      master: `${master.host}:${master.port}`,
      sentinels: 3,
    });
    // The options provider shows neither password.
    const options = app.get(getRedisPoolOptionsToken());
    const shown = [
      inspect(options),
      inspect(options, { customInspect: false, showHidden: true, depth: 8 }),
      JSON.stringify(options),
    ].join('\n');
    expect(shown).not.toContain(PASSWORD);
    expect(shown).not.toContain(SENTINEL_PASSWORD);
  });

  it('goes 503 while the master is frozen and no sentinel can act, and back to 200 when it resumes', async () => {
    const { app } = await boot();
    expect((await request(app.getHttpServer()).get('/health')).status).toBe(200);
    const master = topology().master();
    const sentinels = topology().sentinels();
    for (const sentinel of sentinels) sentinel.freeze();
    master.freeze();
    const started = Date.now();
    const down = await request(app.getHttpServer()).get('/health');
    expect(down.status).toBe(503);
    expect(Date.now() - started).toBeLessThan(2500);
    master.resume();
    for (const sentinel of sentinels) sentinel.resume();
    const until = Date.now() + 10_000;
    let status = 0;
    while (status !== 200 && Date.now() < until) {
      status = (await request(app.getHttpServer()).get('/health')).status;
      if (status !== 200) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(status).toBe(200);
  }, 30_000);

  it('health counts the sentinels that answer: 503 when none does though the master is up', async () => {
    const { app } = await boot();
    const sentinels = topology().sentinels();
    sentinels[0].freeze();
    const partly = await request(app.getHttpServer()).get('/health');
    expect(partly.status).toBe(200);
    expect(partly.body.info.redis).toMatchObject({ sentinels: 2, sentinelsKnown: 3 });
    for (const sentinel of sentinels.slice(1)) sentinel.freeze();
    const none = await request(app.getHttpServer()).get('/health');
    expect(none.status).toBe(503);
    expect(none.body.error.redis).toMatchObject({
      status: 'down',
      message: 'Redis sentinels: none answered',
      sentinels: 0,
    });
    for (const sentinel of sentinels) sentinel.resume();
  }, 30_000);

  it('takes a redis-sentinel:// URL: a SentinelPool, both passwords kept out of every log line', async () => {
    const sentinels = topology()
      .sentinelAddresses()
      .map((s) => `${s.host}:${s.port}`)
      .join(',');
    const url = `redis-sentinel://:${PASSWORD}@${sentinels}/${topology().masterName}/3?sentinelPassword=${SENTINEL_PASSWORD}`;
    const { app, logs } = await bootApp({
      imports: [RedisPoolModule.forRoot({ url, startup: 'wait' }), VisitsModule],
    });
    expect(app.get(SentinelPool)).toBeInstanceOf(SentinelPool);
    expect((await request(app.getHttpServer()).post('/visits')).body.sentinel).toBe(true);
    expect(await topology().master().cli('-n', '3', 'GET', 'visits')).toMatch(/^\d+$/);
    const shown = [JSON.stringify(logs.entries), inspect(app.get(SentinelPool), { depth: 8 })].join(
      '\n',
    );
    expect(JSON.stringify(logs.entries)).toContain('redis-sentinel://:****@');
    expect(shown).not.toContain(PASSWORD);
    expect(shown).not.toContain(SENTINEL_PASSWORD);
  });
});
