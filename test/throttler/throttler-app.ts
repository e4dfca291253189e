import { Controller, Get, Module, type DynamicModule, type INestApplication } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { ThrottlerGuard, ThrottlerModule, type ThrottlerOptions } from '@nestjs/throttler';
import request from 'supertest';
import { RedisService } from '../../lib/client/redis.service';
import type { RedisPoolModuleOptions } from '../../lib/nest/redis-pool.interfaces';
import { RedisPoolModule } from '../../lib/nest/redis-pool.module';
import { RedisThrottlerStorage } from '../../lib/throttler/redis-throttler.storage';
import { bootApp } from '../nest/nest-helpers';

@Controller()
class PingController {
  @Get('ping')
  ping(): { pong: true } {
    return { pong: true };
  }
}

/** How to build one throttled app: its pool, the throttlers, and a key prefix unique to the test. */
export interface ThrottledAppOptions {
  redis: RedisPoolModuleOptions;
  keyPrefix: string;
  throttlers: ThrottlerOptions[];
}

/**
 * An app with `GET /ping` behind a global `ThrottlerGuard` whose storage is a `RedisThrottlerStorage` on the
 * app's pool. Clients are told apart by their `x-client` header, so one test can play several.
 */
export function throttledAppModule(options: ThrottledAppOptions): DynamicModule {
  @Module({})
  class ThrottledAppModule {}
  return {
    module: ThrottledAppModule,
    imports: [
      RedisPoolModule.forRoot({ startup: 'wait', ...options.redis }),
      ThrottlerModule.forRootAsync({
        inject: [RedisService],
        useFactory: (redis: RedisService) => ({
          throttlers: options.throttlers,
          getTracker: (req: Record<string, { 'x-client'?: string }>) =>
            req.headers['x-client'] ?? 'anonymous',
          storage: new RedisThrottlerStorage(redis, { keyPrefix: options.keyPrefix }),
        }),
      }),
    ],
    controllers: [PingController],
    providers: [{ provide: APP_GUARD, useClass: ThrottlerGuard }],
  };
}

export async function bootThrottledApp(options: ThrottledAppOptions): Promise<INestApplication> {
  return (await bootApp({ imports: [throttledAppModule(options)] })).app;
}

/** `GET /ping` as `client`. */
export function ping(app: INestApplication, client = 'alice'): request.Test {
  return request(app.getHttpServer()).get('/ping').set('x-client', client);
}

/** Sends `GET /ping` every 50 ms until it answers 200; resolves with the time it did. */
export async function pingUntilAllowed(
  app: INestApplication,
  client: string,
  timeoutMs: number,
): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const response = await ping(app, client);
    if (response.status === 200) return Date.now();
    if (response.status !== 429) throw new Error(`GET /ping answered ${response.status}`);
    if (Date.now() > deadline) throw new Error(`still 429 after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
