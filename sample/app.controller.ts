import { CacheInterceptor, CacheTTL } from '@nestjs/cache-manager';
import { Controller, Get, UseInterceptors } from '@nestjs/common';
import { Throttle } from '@nestjs/throttler';
import { InjectRedis, RedisService } from '../lib';

/** Keys of the sample live under one prefix, so they are easy to find (and delete) in a shared Redis. */
export const VISITS_KEY = 'sample:visits';

@Controller()
export class AppController {
  constructor(@InjectRedis() private readonly redis: RedisService) {}

  /** What to try. */
  @Get()
  index(): { endpoints: string[] } {
    return {
      endpoints: [
        '/visits',
        '/greeting',
        '/limited',
        '/stats',
        '/catalog/42',
        '/jobs/welcome?to=ada@example.com',
        '/health',
      ],
    };
  }

  /** A visit counter: one INCR on the shared, multiplexed pool per request. */
  @Get('visits')
  async visit(): Promise<{ visits: number }> {
    return { visits: Number(await this.redis.incr(VISITS_KEY)) };
  }

  /** Cached by CacheInterceptor in Redis (RedisKeyvStore) for 10 s: `at` stays the same meanwhile. */
  @Get('greeting')
  @UseInterceptors(CacheInterceptor)
  @CacheTTL(10_000)
  greeting(): { greeting: string; at: string } {
    return { greeting: 'hello', at: new Date().toISOString() };
  }

  /** Three requests per 10 s per client (RedisThrottlerStorage); the fourth gets 429 with Retry-After. */
  @Get('limited')
  @Throttle({ default: { limit: 3, ttl: 10_000 } })
  limited(): { ok: true } {
    return { ok: true };
  }
}
