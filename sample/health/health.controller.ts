import { Controller, Get } from '@nestjs/common';
import { SkipThrottle } from '@nestjs/throttler';
import { HealthCheck, HealthCheckService, type HealthCheckResult } from '@nestjs/terminus';
import { RedisHealthIndicator } from '../../lib/health';
import { CACHE_POOL } from '../redis.config';

// Probes are never rate limited, and answer from the pools alone.
@SkipThrottle()
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly redis: RedisHealthIndicator,
  ) {}

  /** 200 when both pools answer PING within 1 s, else 503 with the reason. */
  @Get()
  @HealthCheck()
  check(): Promise<HealthCheckResult> {
    return this.health.check([
      () => this.redis.isHealthy('redis'),
      () => this.redis.isHealthy('redis-cache', { name: CACHE_POOL, timeoutMs: 1000 }),
    ]);
  }
}
