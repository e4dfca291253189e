/** Options of {@link startTestRedis}. Everything has a default; `startTestRedis()` needs none. */
export interface TestRedisOptions {
  /**
   * The `redis-server` executable: a name looked up on `PATH`, or a path.
   * @default 'redis-server'
   */
  binary?: string;
  /**
   * Extra command-line arguments, appended after the defaults so they win, e.g.
   * `['--maxmemory', '64mb', '--maxmemory-policy', 'allkeys-lru']`. The defaults are
   * `--port <free port> --bind 127.0.0.1 --save '' --appendonly no --daemonize no --logfile '' --dir <temp dir>`
   * (a private directory, removed by `stop()`, so even `SAVE` never writes into your project).
   * @default []
   */
  args?: readonly string[];
  /**
   * Sets `requirepass` (the `default` user's password); the returned `url` then carries it.
   * @default undefined (no password)
   */
  password?: string;
  /**
   * How long the server may take to answer PING before it is killed and the call rejects.
   * @default 10000
   */
  startTimeoutMs?: number;
  /**
   * How long `stop()` waits after SIGTERM before it sends SIGKILL.
   * @default 5000
   */
  stopTimeoutMs?: number;
}

/** The defaults of {@link TestRedisOptions}, as written in its JSDoc. */
export const TEST_REDIS_DEFAULTS = {
  binary: 'redis-server',
  startTimeoutMs: 10_000,
  stopTimeoutMs: 5_000,
} as const;

/** A running throwaway redis-server, as resolved by {@link startTestRedis}. */
export interface TestRedis {
  /** `redis://127.0.0.1:<port>`, or `redis://:<password>@127.0.0.1:<port>` with a password. */
  readonly url: string;
  /** Always the loopback address `127.0.0.1`. */
  readonly host: string;
  /** The free loopback port the server listens on. */
  readonly port: number;
  /** The redis-server process id. */
  readonly pid: number;
  /**
   * Ends this server process (SIGTERM, then SIGKILL after `stopTimeoutMs`) and resolves once it has exited, so
   * its port is free again. Idempotent: later calls return the same promise.
   */
  stop(): Promise<void>;
}
