// The README's first Nest example, run as a test (test/readme.spec.ts keeps them equal).
import { Controller, Get, Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import { RedisService } from '../../lib/client';
import { InjectRedis } from '../../lib/nest/redis.decorators';
import { RedisPoolModule } from '../../lib/nest/redis-pool.module';
import { useRedisServer } from '../harness';

describe('README Nest example', () => {
  const server = useRedisServer();

  it('counts visits over HTTP and closes cleanly', async () => {
    process.env.REDIS_URL = server().url;
    // --- README nest start ---
    @Controller()
    class VisitsController {
      constructor(@InjectRedis() private readonly redis: RedisService) {}

      @Get('visits')
      async visit() {
        return { visits: await this.redis.incr('visits') };
      }
    }

    @Module({
      imports: [RedisPoolModule.forRoot({ url: process.env.REDIS_URL, maxConnections: 20 })],
      controllers: [VisitsController],
    })
    class AppModule {}
    // --- README nest end ---

    const moduleRef = await Test.createTestingModule({ imports: [AppModule] }).compile();
    const app = moduleRef.createNestApplication({ logger: false });
    await app.init();
    try {
      await request(app.getHttpServer()).get('/visits').expect(200, { visits: 1 });
      await request(app.getHttpServer()).get('/visits').expect(200, { visits: 2 });
    } finally {
      await app.close();
    }
    const clients = await server().clientList();
    expect(clients).toEqual([]);
  });
});
