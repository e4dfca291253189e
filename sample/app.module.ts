import { CacheModule } from '@nestjs/cache-manager';
import { Module } from '@nestjs/common';
import { ConfigModule, ConfigService } from '@nestjs/config';
import { APP_FILTER, APP_GUARD } from '@nestjs/core';
import { ThrottlerGuard, ThrottlerModule } from '@nestjs/throttler';
import { Keyv } from 'keyv';
import { RedisPoolModule, RedisService, RedisUnavailableFilter } from '../lib';
import { RedisKeyvStore } from '../lib/cache';
import { RedisThrottlerStorage } from '../lib/throttler';
import { AppController } from './app.controller';
import { CatalogModule } from './catalog/catalog.module';
import { HealthModule } from './health/health.module';
import { JobsModule } from './jobs/jobs.module';
import { CachePoolConfig, CACHE_POOL, redisUrlFrom } from './redis.config';
import { StatsModule } from './stats/stats.module';

@Module({
  imports: [
    ConfigModule.forRoot({ isGlobal: true }),
    // The default pool: injected with @InjectRedis(), or simply as RedisService.
    RedisPoolModule.forRootAsync({
      imports: [ConfigModule],
      inject: [ConfigService],
      useFactory: (config: ConfigService) => ({
        url: redisUrlFrom(config),
        clientName: 'sample',
        maxConnections: 10,
        // Boot even when Redis is down; /health says so. Use 'wait' to refuse to start without Redis.
        startup: 'lazy',
      }),
    }),
    // A second, named pool: injected with @InjectRedis('cache').
    RedisPoolModule.forRootAsync({
      name: CACHE_POOL,
      imports: [ConfigModule],
      useClass: CachePoolConfig,
    }),
    // cache-manager (CacheInterceptor, @CacheTTL) on the default pool: no @keyv/redis, no second connection set.
    CacheModule.registerAsync({
      isGlobal: true,
      inject: [RedisService],
      useFactory: (redis: RedisService) => ({
        // `as never`: this sample is CommonJS and @nestjs/cache-manager 12 is typed for ESM Keyv; same class.
        stores: [
          new Keyv({ store: new RedisKeyvStore(redis), namespace: 'sample-cache' }) as never,
        ],
      }),
    }),
    // Rate limits shared by every instance of the app, counted on the default pool too.
    ThrottlerModule.forRootAsync({
      inject: [RedisService],
      useFactory: (redis: RedisService) => ({
        throttlers: [{ ttl: 60_000, limit: 600 }],
        storage: new RedisThrottlerStorage(redis, { keyPrefix: 'sample:throttle' }),
      }),
    }),
    StatsModule,
    CatalogModule,
    JobsModule,
    HealthModule,
  ],
  controllers: [AppController],
  // While Redis is down, Redis endpoints answer 503 with a short body instead of 500 and a stack per request.
  providers: [
    { provide: APP_FILTER, useClass: RedisUnavailableFilter },
    { provide: APP_GUARD, useClass: ThrottlerGuard },
  ],
})
export class AppModule {}
