import { Injectable } from '@nestjs/common';
import { InjectPool, InjectRedis, RedisService, type PoolStats, type RedisPool } from '../../lib';
import { VISITS_KEY } from '../app.controller';

/** A second feature module on the default pool: it gets the very same pool as AppController. */
@Injectable()
export class StatsService {
  constructor(
    @InjectRedis() private readonly redis: RedisService,
    @InjectPool() private readonly pool: RedisPool,
  ) {}

  async stats(): Promise<{ visits: number; pool: PoolStats }> {
    const visits = await this.redis.get(VISITS_KEY);
    return { visits: Number(visits ?? 0), pool: this.pool.stats() };
  }
}
