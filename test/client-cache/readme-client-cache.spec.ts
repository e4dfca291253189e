// The README's "Client-side caching" examples, run as tests (test/readme.spec.ts keeps them equal).
import assert from 'node:assert/strict';
import { Controller, Get, Module, Param } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import { RedisService } from '../../lib/client';
import { InjectPool, InjectRedis } from '../../lib/nest/redis.decorators';
import { RedisPoolModule } from '../../lib/nest/redis-pool.module';
import { ConnectionPool } from '../../lib/pool/connection-pool';
import { useRedisServer } from '../harness';
import { watchConnections } from './cache-checks';

describe('README client-side caching examples', () => {
  const server = useRedisServer();
  const watch = watchConnections();

  it('runs the core example as written', async () => {
    process.env.REDIS_URL = server().url;
    const other = new ConnectionPool({ host: server().host, port: server().port });
    const somewhereElse = {
      set: async (key: string, value: string) => {
        const pushed = watch.invalidated(key);
        await other.executeCommand('SET', key, value);
        // The README says "a moment later": here the test waits for that very push.
        await pushed;
      },
    };
    // --- README client-cache start ---
    const pool = ConnectionPool.fromUrl(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', {
      protocol: 3, // the cache needs RESP3: invalidations arrive on the connection that read the key
      clientSideCache: { maxEntries: 10_000, ttlMs: 60_000 },
    });
    const redis = new RedisService(pool);

    await redis.set('flags:checkout', 'on');
    assert.equal(await redis.get('flags:checkout'), 'on'); // read from Redis, and kept
    assert.equal(await redis.get('flags:checkout'), 'on'); // a hit: no round trip
    assert.equal(pool.cacheStats().hits, 1);

    // Another client changes the key: Redis pushes an invalidation, and the next read goes to Redis again.
    await somewhereElse.set('flags:checkout', 'off'); // any other client
    assert.equal(await redis.get('flags:checkout'), 'off');

    // A write through this pool drops its key at once, before any push.
    await redis.set('flags:checkout', 'on');
    assert.equal(await redis.get('flags:checkout'), 'on');

    await pool.disconnect();
    // --- README client-cache end ---
    expect(pool.cacheStats()).toMatchObject({ hits: 1, entries: 0 });
    await other.disconnect();
  });

  it('runs the Nest example as written', async () => {
    process.env.REDIS_URL = server().url;
    // --- README client-cache-nest start ---
    @Controller('flags')
    class FlagsController {
      constructor(
        @InjectRedis() private readonly redis: RedisService,
        @InjectPool() private readonly pool: ConnectionPool,
      ) {}

      @Get(':name')
      async flag(@Param('name') name: string) {
        return { on: (await this.redis.get(`flags:${name}`)) === 'on' };
      }

      @Get()
      stats() {
        return this.pool.cacheStats();
      }
    }

    @Module({
      imports: [
        RedisPoolModule.forRoot({
          url: process.env.REDIS_URL,
          protocol: 3,
          clientSideCache: { maxEntries: 50_000, maxBytes: 32 * 1024 * 1024 },
        }),
      ],
      controllers: [FlagsController],
    })
    class AppModule {}
    // --- README client-cache-nest end ---

    await server().cli('SET', 'flags:beta', 'on');
    const moduleRef = await Test.createTestingModule({ imports: [AppModule] }).compile();
    const app = moduleRef.createNestApplication({ logger: false });
    await app.init();
    try {
      for (let i = 0; i < 3; i++) {
        await request(app.getHttpServer()).get('/flags/beta').expect(200, { on: true });
      }
      const stats = await request(app.getHttpServer()).get('/flags').expect(200);
      expect(stats.body).toMatchObject({ hits: 2, misses: 1, entries: 1 });
    } finally {
      await app.close();
    }
    expect(await server().clientList()).toEqual([]);
  });
});
