import { Controller, Get, Module } from '@nestjs/common';
import { APP_FILTER, HttpAdapterHost } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import { RedisService } from '../../lib/client';
import { InjectRedis } from '../../lib/nest/redis.decorators';
import { RedisPoolModule } from '../../lib/nest/redis-pool.module';
import { RedisUnavailableFilter } from '../../lib/nest/redis-unavailable.filter';
import { useRedisServer } from '../harness';
import { LogCapture, bootApp, closeApps, waitFor } from './nest-helpers';

@Controller()
class VisitsController {
  constructor(@InjectRedis() private readonly redis: RedisService) {}

  @Get('visits')
  async visit() {
    return { visits: await this.redis.incr('filter:visits') };
  }

  @Get('wrong-type')
  async wrongType() {
    await this.redis.set('filter:string', 'x');
    return this.redis.lpush('filter:string', 'y');
  }
}

const BODY = { statusCode: 503, error: 'Service Unavailable', message: 'Redis is unavailable' };

describe('RedisUnavailableFilter', () => {
  const server = useRedisServer();
  afterEach(closeApps);

  it('answers 503 with a short body while Redis is stopped, one log line instead of a stack per request', async () => {
    process.env.REDIS_URL = server().url;
    // --- README filter start ---
    @Module({
      imports: [RedisPoolModule.forRoot({ url: process.env.REDIS_URL })],
      controllers: [VisitsController],
      providers: [{ provide: APP_FILTER, useClass: RedisUnavailableFilter }],
    })
    class AppModule {}
    // --- README filter end ---
    const { app, logs } = await bootApp({ imports: [AppModule] });
    const http = () => request(app.getHttpServer());
    await http().get('/visits').expect(200, { visits: 1 });

    await server().stop();
    try {
      for (let i = 0; i < 5; i++) {
        const response = await http().get('/visits');
        expect(response.status).toBe(503);
        expect(response.headers['retry-after']).toBe('1');
        expect(response.body).toEqual(BODY);
        expect(JSON.stringify(response.body)).not.toContain(String(server().port));
      }
      expect(logs.lines('error', 'ExceptionsHandler')).toEqual([]);
      expect(logs.lines('warn', 'RedisUnavailableFilter')).toEqual([
        expect.stringMatching(
          /^Answered 503 to a request while Redis is unavailable \(ConnectionError: .*ECONNREFUSED.*\)$/,
        ),
      ]);
    } finally {
      await server().start();
    }
    await waitFor(async () => (await http().get('/visits')).status === 200, 5000, 'recovery');
    // Errors that are not about Redis being unavailable still go to Nest's own handling.
    const wrong = await http().get('/wrong-type');
    expect(wrong.status).toBe(500);
    expect(logs.lines('error', 'ExceptionsHandler').join('\n')).toMatch(/WRONGTYPE/);
  });

  it('answers 503 when the server is frozen and commands time out', async () => {
    const { app } = await bootApp({
      imports: [RedisPoolModule.forRoot({ url: server().url, commandTimeoutMs: 300 })],
      controllers: [VisitsController],
      providers: [{ provide: APP_FILTER, useClass: RedisUnavailableFilter }],
    });
    await request(app.getHttpServer()).get('/visits').expect(200);
    server().freeze();
    try {
      const response = await request(app.getHttpServer()).get('/visits');
      expect(response.status).toBe(503);
      expect(response.body).toEqual(BODY);
    } finally {
      server().resume();
    }
  });

  it('works as a global filter built by hand', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [RedisPoolModule.forRoot({ url: 'redis://127.0.0.1:1', connectTimeoutMs: 300 })],
      controllers: [VisitsController],
    })
      .setLogger(new LogCapture())
      .compile();
    const app = moduleRef.createNestApplication({ logger: false });
    app.useGlobalFilters(new RedisUnavailableFilter(app.get(HttpAdapterHost)));
    await app.init();
    try {
      await request(app.getHttpServer()).get('/visits').expect(503, BODY);
    } finally {
      await app.close();
    }
  });
});
