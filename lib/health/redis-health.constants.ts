/** Token of the defaults given to `RedisHealthModule.register()`. */
export const REDIS_HEALTH_OPTIONS = 'nestjs-redis-pool:RedisHealthModuleOptions';

/** Default of `timeoutMs`: how long a health check waits for PONG. */
export const DEFAULT_HEALTH_TIMEOUT_MS = 1000;
