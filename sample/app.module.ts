import { Module } from '@nestjs/common';
import { ConfigModule, ConfigService } from '@nestjs/config';
import { APP_FILTER } from '@nestjs/core';
import { RedisPoolModule, RedisUnavailableFilter } from '../lib';
import { AppController } from './app.controller';
import { CatalogModule } from './catalog/catalog.module';
import { HealthModule } from './health/health.module';
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
    StatsModule,
    CatalogModule,
    HealthModule,
  ],
  controllers: [AppController],
  // While Redis is down, Redis endpoints answer 503 with a short body instead of 500 and a stack per request.
  providers: [{ provide: APP_FILTER, useClass: RedisUnavailableFilter }],
})
export class AppModule {}
