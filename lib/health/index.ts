/**
 * `nestjs-redis-pool/health`: the Terminus health indicator. A separate entry point, so the main one never loads
 * `@nestjs/terminus` (an optional peer).
 */
export { RedisHealthIndicator } from './redis.health';
export { RedisHealthModule } from './redis-health.module';
export type { RedisHealthCheckOptions, RedisHealthModuleOptions } from './redis-health.interfaces';
