/** Name of the pool registered when `name` is not given. */
export const DEFAULT_POOL_NAME = 'default';

/** Logger context of every line the module writes. */
export const REDIS_POOL_LOGGER_CONTEXT = 'RedisPoolModule';

/** Default of `startupTimeoutMs`: how long `startup: 'wait'` waits for the first PING. */
export const DEFAULT_STARTUP_TIMEOUT_MS = 10_000;

/**
 * Deadline of the single PING a lazy pool sends at boot to say in the log whether Redis is reachable. Boot never
 * waits for it.
 */
export const BOOT_PROBE_TIMEOUT_MS = 2_000;

/** Pause between PINGs while `startup: 'wait'` waits for Redis. */
export const STARTUP_RETRY_DELAY_MS = 100;
