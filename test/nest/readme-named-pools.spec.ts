// The README's "Named pools" sharing example, run as a test (test/readme.spec.ts keeps them equal).
import { Injectable, Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { RedisService } from '../../lib/client';
import { InjectRedis } from '../../lib/nest/redis.decorators';
import { getRedisToken } from '../../lib/nest/redis.tokens';
import { RedisPoolModule } from '../../lib/nest/redis-pool.module';
import { useRedisServer } from '../harness';

describe('README named pools example', () => {
  const server = useRedisServer();

  it('shares one non-global pool between feature modules through a wrapper module', async () => {
    process.env.CACHE_URL = server().url;
    // --- README shared start ---
    // The 'cache' pool, registered once and not global: only modules that import CacheRedisModule get it.
    @Module({
      imports: [
        RedisPoolModule.forRoot({ name: 'cache', url: process.env.CACHE_URL, isGlobal: false }),
      ],
      exports: [RedisPoolModule],
    })
    class CacheRedisModule {}

    @Injectable()
    class PricesService {
      constructor(@InjectRedis('cache') readonly cache: RedisService) {}
    }

    @Injectable()
    class CartService {
      constructor(@InjectRedis('cache') readonly cache: RedisService) {}
    }

    @Module({ imports: [CacheRedisModule], providers: [PricesService], exports: [PricesService] })
    class PricesModule {}

    @Module({ imports: [CacheRedisModule], providers: [CartService], exports: [CartService] })
    class CartModule {}
    // --- README shared end ---

    @Injectable()
    class Outsider {
      constructor(@InjectRedis('cache') readonly cache: RedisService) {}
    }
    @Module({ providers: [Outsider] })
    class OutsiderModule {}

    // Not global: a module that does not import CacheRedisModule cannot inject the pool.
    await expect(
      Test.createTestingModule({ imports: [CacheRedisModule, OutsiderModule] }).compile(),
    ).rejects.toThrow(/Outsider/);

    const moduleRef = await Test.createTestingModule({
      imports: [PricesModule, CartModule],
    }).compile();
    const app = moduleRef.createNestApplication({ logger: false });
    await app.init();
    const prices = app.get(PricesService);
    const cart = app.get(CartService);
    try {
      expect(prices.cache).toBe(cart.cache);
      expect(prices.cache.pool).toBe(cart.cache.pool);
      await prices.cache.set('readme:shared', 'one pool');
      expect(await cart.cache.get('readme:shared')).toBe('one pool');
      expect(() => app.get(getRedisToken())).toThrow();
    } finally {
      await app.close();
    }
    expect(prices.cache.pool.closed).toBe(true);
    expect(await server().clientList()).toEqual([]);
  });
});
