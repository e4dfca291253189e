/*
 * The keys each options object may have, for the run-time check that turns a typo (`maxConection`) into an error
 * instead of a silently ignored option. `pool-options.ts` checks at compile time that each list names exactly
 * the keys of its interface, so an option cannot be added to one and forgotten in the other.
 */

/** Every key of `PoolOptions`. */
export const POOL_OPTION_KEYS = [
  'name',
  'url',
  'host',
  'port',
  'path',
  'db',
  'username',
  'password',
  'clientName',
  'tls',
  'protocol',
  'dispatch',
  'maxConnections',
  'maxLeases',
  'minIdle',
  'acquireTimeoutMs',
  'connectTimeoutMs',
  'commandTimeoutMs',
  'idleTimeoutMs',
  'maxLifetimeMs',
  'healthCheckIntervalMs',
  'keepAliveMs',
  'maxQueueLength',
  'maxPendingPerConnection',
  'retry',
  'drainTimeoutMs',
  'decoderLimits',
  'readOnly',
  'expectRole',
  'clientSideCache',
] as const;

/** Every key of `RetryOptions` (the pool's `retry` option). */
export const RETRY_OPTION_KEYS = ['attempts', 'baseDelayMs', 'maxDelayMs'] as const;

/** Every key of `DecoderLimits` (the pool's `decoderLimits` option). */
export const DECODER_LIMIT_OPTION_KEYS = [
  'maxDepth',
  'maxAggregateLength',
  'maxBulkLength',
  'maxLineLength',
] as const;

/** Options holding milliseconds: each must fit a Node timer (`MAX_TIMER_MS`), or the timer would fire at once. */
export const MS_OPTIONS = [
  'acquireTimeoutMs',
  'connectTimeoutMs',
  'commandTimeoutMs',
  'idleTimeoutMs',
  'maxLifetimeMs',
  'healthCheckIntervalMs',
  'keepAliveMs',
  'drainTimeoutMs',
] as const;

/** The non-negative integer options besides `port` and `db`; a URL may carry each as a query key. */
export const INTEGER_OPTIONS = [
  'maxConnections',
  'maxLeases',
  'minIdle',
  'maxQueueLength',
  'maxPendingPerConnection',
  ...MS_OPTIONS,
] as const;

/** Options that hold text; each must be a non-empty string when given (`username` and `password` may be ''). */
export const STRING_OPTIONS = ['name', 'url', 'host', 'path', 'clientName'] as const;
