/**
 * Every pool default in one place, so that `resolvePoolOptions`, the cluster and sentinel pools and the docs
 * cannot drift apart. The JSDoc `@default` of each option in `PoolOptions` states the same value.
 */
export const POOL_DEFAULTS = {
  host: 'localhost',
  port: 6379,
  db: 0,
  protocol: 2 as 2 | 3,
  dispatch: 'multiplexed' as 'multiplexed' | 'exclusive',
  maxConnections: 10,
  minIdle: 0,
  acquireTimeoutMs: 5000,
  connectTimeoutMs: 5000,
  commandTimeoutMs: 10_000,
  idleTimeoutMs: 60_000,
  maxLifetimeMs: 0,
  healthCheckIntervalMs: 30_000,
  keepAliveMs: 30_000,
  maxQueueLength: 100_000,
  maxPendingPerConnection: 10_000,
  drainTimeoutMs: 5000,
  retry: { attempts: 3, baseDelayMs: 50, maxDelayMs: 2000 },
} as const;
