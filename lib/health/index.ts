/**
 * `nestjs-redis-pool/health`: the Terminus health indicator. A separate entry point, so the main one never loads
 * `@nestjs/terminus` (an optional peer). Without it, importing this entry fails with one line that says what to
 * install (see `terminus-peer.ts`), before anything else is loaded.
 */
import './terminus-peer';
export { RedisHealthIndicator } from './redis.health';
export { RedisHealthModule } from './redis-health.module';
export {
  PoolLiveness,
  type LivenessResult,
  type LivenessState,
  type RedisLivenessOptions,
} from './pool-liveness';
export type {
  RedisHealthCheckOptions,
  RedisHealthModuleOptions,
  RedisPingCheckOptions,
} from './redis-health.interfaces';
