import { CACHE_MANAGER, CacheInterceptor, CacheModule, CacheTTL } from '@nestjs/cache-manager';
import { Controller, Get, Inject, Module, UseInterceptors } from '@nestjs/common';
import type { Cache } from 'cache-manager';
import request from 'supertest';
import { RedisKeyvStore } from '../../lib/cache';
import { RedisService } from '../../lib/client/redis.service';
import { RedisPoolModule } from '../../lib/nest/redis-pool.module';
import { ConnectionPool } from '../../lib/pool/connection-pool';
import { startRedisServer, useRedisServer, type RedisServerHandle } from '../harness';
import { bootApp, closeApp, closeApps } from '../nest/nest-helpers';
import { eventually, Keyv } from './cache-helpers';

@Controller()
@UseInterceptors(CacheInterceptor)
class ProductsController {
  calls = { products: 0, flash: 0 };

  constructor(@Inject(CACHE_MANAGER) private readonly cache: Cache) {}

  @Get('products')
  @CacheTTL(60_000)
  products(): { calls: number } {
    return { calls: ++this.calls.products };
  }

  @Get('flash')
  @CacheTTL(300)
  flash(): { calls: number } {
    return { calls: ++this.calls.flash };
  }

  @Get('wrapped')
  async wrapped(): Promise<{ value: string }> {
    return { value: await this.cache.wrap('wrapped', async () => 'computed once', 60_000) };
  }
}

function cacheModule() {
  return CacheModule.registerAsync({
    inject: [RedisService],
    useFactory: (redis: RedisService) => ({
      stores: [new Keyv({ store: new RedisKeyvStore(redis) })],
    }),
  });
}

function appModule(url: string) {
  @Module({
    imports: [
      RedisPoolModule.forRoot({ url, maxConnections: 4, clientName: 'app-pool' }),
      cacheModule(),
    ],
    controllers: [ProductsController],
  })
  class AppModule {}
  return AppModule;
}

describe('RedisKeyvStore in a Nest app (@nestjs/cache-manager, CacheInterceptor, @CacheTTL)', () => {
  const server = useRedisServer();
  let direct: ConnectionPool;
  let redis: RedisService;

  beforeAll(() => {
    direct = ConnectionPool.fromUrl(server().url, { clientName: 'test-direct' });
    redis = new RedisService(direct);
  });
  beforeEach(async () => {
    await redis.executeCommand('FLUSHDB');
  });
  afterEach(closeApps);
  afterAll(async () => {
    await direct.disconnect();
  });

  it('serves a cached response until its @CacheTTL, then the handler again', async () => {
    const { app } = await bootApp({ imports: [appModule(server().url)] });
    const http = app.getHttpServer();
    const first = await request(http).get('/products').expect(200, { calls: 1 });
    expect(first.headers['x-cache']).toBe('MISS');
    // The interceptor stores the response after sending it.
    await eventually(async () => (await redis.exists('keyv::keyv:/products')) === 1, 'the entry');
    const second = await request(http).get('/products').expect(200, { calls: 1 });
    expect(second.headers['x-cache']).toBe('HIT');
    expect(await redis.pttl('keyv::keyv:/products')).toBeGreaterThan(50_000);

    await request(http).get('/flash').expect(200, { calls: 1 });
    await eventually(async () => (await redis.exists('keyv::keyv:/flash')) === 1, 'the entry');
    expect(await redis.pttl('keyv::keyv:/flash')).toBeLessThanOrEqual(300);
    await eventually(async () => (await redis.exists('keyv::keyv:/flash')) === 0, 'expiry');
    const expired = await request(http).get('/flash').expect(200, { calls: 2 });
    expect(expired.headers['x-cache']).toBe('MISS');
  });

  it('runs on the app pool only, and app.close() closes it once the cache let go', async () => {
    const { app } = await bootApp({ imports: [appModule(server().url)] });
    const http = app.getHttpServer();
    await request(http).get('/wrapped').expect(200, { value: 'computed once' });
    await request(http).get('/products').expect(200);
    const pool = app.get(ConnectionPool);
    const names = async (): Promise<string[]> =>
      [...new Set((await server().clientList()).map((client) => client.name))].sort();
    // Only the app's pool and this test's own connection: the cache opened no client of its own.
    expect(await names()).toEqual(['app-pool', 'test-direct']);

    // cache-manager calls every store's disconnect() on module destroy; the shared pool stays open for it.
    await app.get<Cache>(CACHE_MANAGER).disconnect();
    expect(pool.closed).toBe(false);
    await request(http).get('/wrapped').expect(200, { value: 'computed once' });

    await closeApp(app);
    expect(pool.closed).toBe(true);
    expect(await names()).toEqual(['test-direct']);
  });

  it("clear() through CACHE_MANAGER leaves the app's own keys", async () => {
    const { app } = await bootApp({ imports: [appModule(server().url)] });
    await redis.set('visits', '3');
    const cache = app.get<Cache>(CACHE_MANAGER);
    await cache.mset([
      { key: 'a', value: 1 },
      { key: 'b', value: 2 },
    ]);
    expect(await cache.mget(['a', 'b'])).toEqual([1, 2]);
    await cache.clear();
    expect(await cache.mget(['a', 'b'])).toEqual([undefined, undefined]);
    expect(await redis.get('visits')).toBe('3');
  });
});

describe('RedisKeyvStore in a Nest app while Redis is down', () => {
  let server: RedisServerHandle;

  beforeAll(async () => {
    server = await startRedisServer();
  });
  afterEach(closeApps);
  afterAll(async () => {
    await server.dispose();
  });

  it('answers from the handler (a miss), not with a 500, and caches again once Redis is back', async () => {
    const { app } = await bootApp({ imports: [appModule(server.url)] });
    const http = app.getHttpServer();
    await request(http).get('/products').expect(200, { calls: 1 });
    await server.kill();
    const started = Date.now();
    const down = await request(http).get('/products').expect(200);
    expect(down.headers['x-cache']).toBe('MISS');
    expect(Date.now() - started).toBeLessThan(5000);
    await server.start();
    await eventually(async () => {
      await request(http).get('/products');
      return (await request(http).get('/products')).headers['x-cache'] === 'HIT';
    }, 'the cache to serve again');
  });
});
