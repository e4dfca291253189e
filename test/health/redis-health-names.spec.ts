import { Controller, Get, Module, Query } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { HealthCheck, HealthCheckService, type HealthCheckResult } from '@nestjs/terminus';
import request from 'supertest';
import { ConfigurationError } from '../../lib/errors/redis-pool.errors';
import { RedisHealthIndicator } from '../../lib/health/redis.health';
import { RedisHealthModule } from '../../lib/health/redis-health.module';
import { TERMINUS_MISSING } from '../../lib/health/terminus-peer';
import { RedisPoolModule } from '../../lib/nest/redis-pool.module';
import { useRedisServer } from '../harness';
import { LogCapture, bootApp, closeApps } from '../nest/nest-helpers';
import { runChild } from '../pool/child/run-child';

@Controller('health')
class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly redis: RedisHealthIndicator,
  ) {}

  @Get()
  @HealthCheck()
  check(@Query('pool') name?: string): Promise<HealthCheckResult> {
    return this.health.check([() => this.redis.isHealthy('redis', { name })]);
  }

  @Get('ping')
  @HealthCheck()
  ping(@Query('pool') name?: string): Promise<HealthCheckResult> {
    return this.health.check([() => this.redis.pingCheck('redis', { name, timeout: 300 })]);
  }
}

describe('health checks of pools that are not registered', () => {
  const server = useRedisServer();
  afterEach(closeApps);

  const pools = () => [
    RedisPoolModule.forRoot({ url: server().url }),
    RedisPoolModule.forRoot({ name: 'cache', url: server().url }),
  ];

  it('RedisHealthModule.register({ name }) with an unknown name fails the boot, listing the registered pools', async () => {
    @Module({
      imports: [RedisHealthModule.register({ name: 'cahce' })],
      controllers: [HealthController],
    })
    class HealthModule {}
    const moduleRef = await Test.createTestingModule({ imports: [...pools(), HealthModule] })
      .setLogger(new LogCapture())
      .compile();
    const app = moduleRef.createNestApplication({ logger: false });
    const booting = app.init();
    await expect(booting).rejects.toThrow(ConfigurationError);
    await expect(booting).rejects.toThrow(
      'RedisHealthIndicator: no Redis pool named "cahce" is registered (registered: "default", "cache"); ' +
        'check the name given to isHealthy(), pingCheck() or RedisHealthModule.register(), ' +
        "or register it with RedisPoolModule.forRoot({ name: 'cahce' })",
    );
    await app.close();
  });

  it('an unknown name in one isHealthy() call is an error at its first check, not a permanent "down"', async () => {
    @Module({ imports: [RedisHealthModule], controllers: [HealthController] })
    class HealthModule {}
    const { app, logs } = await bootApp({ imports: [...pools(), HealthModule] });
    const response = await request(app.getHttpServer()).get('/health?pool=nope');
    expect(response.status).toBe(500);
    expect(logs.text()).toContain(
      'RedisHealthIndicator: no Redis pool named "nope" is registered (registered: "default", "cache")',
    );
    // The registered ones still answer.
    await request(app.getHttpServer()).get('/health?pool=cache').expect(200);
  });

  it('pingCheck(key, { timeout }) is isHealthy in Terminus naming', async () => {
    @Module({ imports: [RedisHealthModule], controllers: [HealthController] })
    class HealthModule {}
    const { app } = await bootApp({ imports: [...pools(), HealthModule] });
    const up = await request(app.getHttpServer()).get('/health/ping?pool=cache').expect(200);
    expect(up.body.info.redis).toMatchObject({ status: 'up', responseTimeMs: expect.any(Number) });
    server().freeze();
    try {
      const started = Date.now();
      const down = await request(app.getHttpServer()).get('/health/ping');
      expect(down.status).toBe(503);
      expect(down.body.error.redis.message).toMatch(/(within|after) 300 ms/);
      expect(Date.now() - started).toBeLessThan(300 + 1500);
    } finally {
      server().resume();
    }
  });
});

describe('nestjs-redis-pool/health without @nestjs/terminus', () => {
  const script = `
    try {
      require('./lib/health/index.ts');
      console.log('loaded');
    } catch (error) {
      console.log(error.name + ': ' + error.message);
    }`;

  it('says what to install, for Nest 12 and Nest 11 apps', async () => {
    const run = await runChild(script, { env: { HIDE_PACKAGES: '@nestjs/terminus' } });
    expect(run.stderr).toBe('');
    expect(run.stdout).toBe(`ConfigurationError: ${TERMINUS_MISSING}\n`);
    expect(TERMINUS_MISSING).toContain('npm install @nestjs/terminus@12` in a NestJS 12 app');
    expect(TERMINUS_MISSING).toContain('npm install @nestjs/terminus@11` in a NestJS 11 app');
    expect(TERMINUS_MISSING).toContain('ESM-only');
  });

  it('loads when it is installed, and the main entry never needs it', async () => {
    expect((await runChild(script)).stdout).toBe('loaded\n');
    const main = await runChild(
      `require('./lib/index.ts'); console.log(Object.keys(require.cache).some((f) => f.includes('@nestjs/terminus')));`,
      { env: { HIDE_PACKAGES: '@nestjs/terminus' } },
    );
    expect(main.stderr).toBe('');
    expect(main.stdout).toBe('false\n');
  });
});
