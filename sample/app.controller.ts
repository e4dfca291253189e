import { Controller, Get } from '@nestjs/common';
import { InjectRedis, RedisService } from '../lib';

/** Keys of the sample live under one prefix, so they are easy to find (and delete) in a shared Redis. */
export const VISITS_KEY = 'sample:visits';

@Controller()
export class AppController {
  constructor(@InjectRedis() private readonly redis: RedisService) {}

  /** What to try. */
  @Get()
  index(): { endpoints: string[] } {
    return { endpoints: ['/visits', '/stats', '/catalog/42', '/health'] };
  }

  /** A visit counter: one INCR on the shared, multiplexed pool per request. */
  @Get('visits')
  async visit(): Promise<{ visits: number }> {
    return { visits: Number(await this.redis.incr(VISITS_KEY)) };
  }
}
