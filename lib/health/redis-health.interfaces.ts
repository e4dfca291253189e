/** Options of one `RedisHealthIndicator.isHealthy()` call, and defaults of `RedisHealthModule.register()`. */
export interface RedisHealthCheckOptions {
  /**
   * Name of the pool to check, as given to `RedisPoolModule.forRoot({ name })`.
   * @default 'default'
   */
  name?: string;
  /**
   * Longest wait for PONG; past it the check reports `down`, whatever state the server or the pool is in.
   * @default 1000
   */
  timeoutMs?: number;
}

/** Defaults for every check of the `RedisHealthIndicator` provided by `RedisHealthModule.register()`. */
export type RedisHealthModuleOptions = RedisHealthCheckOptions;

/** Options of `RedisHealthIndicator.pingCheck()`, in Terminus's own naming. */
export interface RedisPingCheckOptions {
  /**
   * Name of the pool to check, as given to `RedisPoolModule.forRoot({ name })`.
   * @default 'default'
   */
  name?: string;
  /**
   * Longest wait for PONG in milliseconds (the same as `timeoutMs` of `isHealthy()`).
   * @default 1000
   */
  timeout?: number;
}
