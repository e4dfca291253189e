// The README's throttler example, run as a test (test/readme.spec.ts keeps them equal).
import { Controller, Get, Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import { ThrottlerGuard, ThrottlerModule } from '@nestjs/throttler';
import request from 'supertest';
import { RedisService } from '../../lib/client/redis.service';
import { RedisPoolModule } from '../../lib/nest/redis-pool.module';
import { RedisThrottlerStorage } from '../../lib/throttler/redis-throttler.storage';
import { useRedisServer } from '../harness';

describe('README throttler example', () => {
  const server = useRedisServer();

  it('limits each client to 10 requests a minute, on the app pool, and closes cleanly', async () => {
    process.env.REDIS_URL = server().url;
    // --- README throttler start ---
    @Controller()
    class HelloController {
      @Get('hello')
      hello() {
        return { hello: 'world' };
      }
    }

    @Module({
      imports: [
        RedisPoolModule.forRoot({ url: process.env.REDIS_URL }),
        ThrottlerModule.forRootAsync({
          inject: [RedisService],
          useFactory: (redis: RedisService) => ({
            // 10 requests a minute per client; the 11th starts a block of one minute (429, Retry-After: 60).
            throttlers: [{ ttl: 60_000, limit: 10 }],
            storage: new RedisThrottlerStorage(redis),
          }),
        }),
      ],
      controllers: [HelloController],
      providers: [{ provide: APP_GUARD, useClass: ThrottlerGuard }],
    })
    class AppModule {}
    // --- README throttler end ---

    const moduleRef = await Test.createTestingModule({ imports: [AppModule] }).compile();
    const app = moduleRef.createNestApplication({ logger: false });
    await app.init();
    try {
      for (let i = 0; i < 10; i++) {
        await request(app.getHttpServer()).get('/hello').expect(200, { hello: 'world' });
      }
      const refused = await request(app.getHttpServer()).get('/hello').expect(429);
      expect(refused.headers['retry-after']).toBe('60');
      const pool = app.get(RedisService).pool;
      // Only the app's own pool talks to Redis.
      expect((await server().clientList()).length).toBe(pool.stats().total);
    } finally {
      await app.close();
    }
    expect(await server().clientList()).toEqual([]);
  });
});
