/**
 * `nestjs-redis-pool/throttler`: a `@nestjs/throttler` 6 storage on the app's own pool. A separate entry point;
 * `@nestjs/throttler` (an optional peer) is only imported for its types, so nothing of it loads from here.
 */
export { RedisThrottlerStorage } from './redis-throttler.storage';
export {
  DEFAULT_THROTTLER_KEY_PREFIX,
  type RedisThrottlerStorageOptions,
} from './throttler-storage.options';
export { throttlerKey } from './throttler-keys';
