import { Controller, Get } from '@nestjs/common';
import type { PoolStats } from '../../lib';
import { StatsService } from './stats.service';

@Controller('stats')
export class StatsController {
  constructor(private readonly stats: StatsService) {}

  /** The visit count and a snapshot of the default pool (connections, leases, pending commands). */
  @Get()
  get(): Promise<{ visits: number; pool: PoolStats }> {
    return this.stats.stats();
  }
}
