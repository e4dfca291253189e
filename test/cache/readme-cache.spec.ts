// The README's cache-manager example, run as a test (test/readme.spec.ts keeps them equal).
import { CacheInterceptor, CacheModule, CacheTTL } from '@nestjs/cache-manager';
import { Controller, Get, Module, UseInterceptors } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import { RedisKeyvStore } from '../../lib/cache';
import { RedisService } from '../../lib/client/redis.service';
import { RedisPoolModule } from '../../lib/nest/redis-pool.module';
import { useRedisServer } from '../harness';
import { eventually, Keyv } from './cache-helpers';

describe('README cache example', () => {
  const server = useRedisServer();

  it('caches a response in the app pool and closes cleanly', async () => {
    process.env.REDIS_URL = server().url;
    // --- README cache start ---
    @Controller('products')
    @UseInterceptors(CacheInterceptor)
    class ProductsController {
      @Get()
      @CacheTTL(30_000) // ms: served from Redis for 30 s, then by the handler again
      list() {
        return { products: ['tea', 'coffee'], at: new Date().toISOString() };
      }
    }

    @Module({
      imports: [
        RedisPoolModule.forRoot({ url: process.env.REDIS_URL }),
        CacheModule.registerAsync({
          inject: [RedisService],
          useFactory: (redis: RedisService) => ({
            stores: [new Keyv({ store: new RedisKeyvStore(redis) })],
          }),
        }),
      ],
      controllers: [ProductsController],
    })
    class AppModule {}
    // --- README cache end ---

    const moduleRef = await Test.createTestingModule({ imports: [AppModule] }).compile();
    const app = moduleRef.createNestApplication({ logger: false });
    await app.init();
    try {
      const http = app.getHttpServer();
      const first = await request(http).get('/products').expect(200);
      expect(first.headers['x-cache']).toBe('MISS');
      const redis = app.get(RedisService);
      await eventually(async () => (await redis.exists('keyv::keyv:/products')) === 1, 'the entry');
      expect(await redis.pttl('keyv::keyv:/products')).toBeGreaterThan(20_000);
      const second = await request(http).get('/products').expect(200);
      expect(second.headers['x-cache']).toBe('HIT');
      expect(second.body).toEqual(first.body);
    } finally {
      await app.close();
    }
    expect(await server().clientList()).toEqual([]);
  });
});
