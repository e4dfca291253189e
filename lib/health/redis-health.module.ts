import { Module, type DynamicModule } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { REDIS_HEALTH_OPTIONS } from './redis-health.constants';
import type { RedisHealthModuleOptions } from './redis-health.interfaces';
import { RedisHealthIndicator } from './redis.health';

/**
 * Provides `RedisHealthIndicator` (and Terminus' `HealthCheckService`). Import it as is to check pools by name
 * per call, or through `register({ name, timeoutMs })` to set the defaults of every check.
 *
 * @example
 * ```ts
 * @Module({ imports: [RedisHealthModule], controllers: [HealthController] })
 * export class HealthModule {}
 * ```
 */
@Module({
  imports: [TerminusModule],
  providers: [RedisHealthIndicator],
  exports: [RedisHealthIndicator, TerminusModule],
})
export class RedisHealthModule {
  /** The module with defaults for every check, e.g. the pool to check: `register({ name: 'cache' })`. */
  static register(options: RedisHealthModuleOptions = {}): DynamicModule {
    return {
      module: RedisHealthModule,
      providers: [{ provide: REDIS_HEALTH_OPTIONS, useValue: options }],
    };
  }
}
