import type { ConnectionOptions as TlsConnectionOptions } from 'node:tls';
import type { CacheLimits, ClientSideCacheOptions } from '../client-cache/client-cache.options';
import type { ConnectionOptions } from '../connection/connection-options';
import { checkClientSideCache, resolveCacheLimits } from './cache-option-checks';
import type { DecoderLimits } from '../protocol/resp.types';
import {
  DECODER_LIMIT_OPTION_KEYS,
  INTEGER_OPTIONS,
  POOL_OPTION_KEYS,
  RETRY_OPTION_KEYS,
} from './option-keys';
import { POOL_DEFAULTS } from './pool-defaults';
import { checkPoolOptions } from './pool-option-checks';

/** Reconnect and retry backoff: exponential with full jitter, pool-wide. */
export interface RetryOptions {
  /**
   * Times a command may be sent again after its connection failed (only when it was never written, is
   * read-only, or the call opted in), all within its one deadline.
   * @default 3
   */
  attempts?: number;
  /**
   * First backoff step in milliseconds; each consecutive failure doubles it.
   * @default 50
   */
  baseDelayMs?: number;
  /**
   * Longest backoff in milliseconds.
   * @default 2000
   */
  maxDelayMs?: number;
}

/** Options of a `ConnectionPool`. */
export interface PoolOptions {
  /**
   * The pool's name in error messages (the Nest module passes its registration name), and its
   * `db.client.connection.pool.name` in traces and metrics (`nestjs-redis-pool/otel`), where a pool without one
   * is named `host:port/db`.
   * @default 'default'
   */
  name?: string;
  /** A `redis://`, `rediss://` or `unix://` URL; explicit options win over what it says. */
  url?: string;
  /**
   * Server host name or IP address.
   * @default 'localhost'
   */
  host?: string;
  /**
   * Server port.
   * @default 6379
   */
  port?: number;
  /** Unix socket path; wins over host and port. */
  path?: string;
  /**
   * Database selected on every connection.
   * @default 0
   */
  db?: number;
  /** ACL user name (Redis 6+). */
  username?: string;
  /** Password (`requirepass` or the ACL user's). Never shown in errors, logs or `inspect()`. */
  password?: string;
  /** Set with CLIENT SETNAME on every connection. */
  clientName?: string;
  /**
   * `true` for TLS with the system CAs, or Node's TLS options (ca, cert, key, servername...). The certificate is
   * verified unless you set `rejectUnauthorized: false` yourself.
   * @default undefined (plain TCP)
   */
  tls?: boolean | TlsConnectionOptions;
  /**
   * RESP version: 3 uses HELLO 3 (falling back to 2 on servers without it). Replies map to the same JavaScript
   * values under both.
   * @default 2
   */
  protocol?: 2 | 3;
  /**
   * `multiplexed` pipelines every caller's commands over shared connections; `exclusive` leases a connection per
   * command, as redis-py does.
   * @default 'multiplexed'
   */
  dispatch?: 'multiplexed' | 'exclusive';
  /**
   * Most shared connections, the ones `executeCommand` pipelines every caller's commands over. Leases do not
   * count against it (see `maxLeases`), so blocked workers never starve the shared path. In `exclusive` dispatch
   * every command leases, so this is also the default lease budget there.
   * @default 10
   */
  maxConnections?: number;
  /**
   * Most exclusive leases (`getConnection`, `withConnection`, blocking helpers, transactions, subscribers) held at
   * once, a budget of their own beside `maxConnections`: the pool opens at most `maxConnections + maxLeases`
   * sockets. Past it `getConnection` waits up to `acquireTimeoutMs`, then rejects with `PoolExhaustedError`.
   * @default maxConnections
   */
  maxLeases?: number;
  /**
   * Connections kept open even when idle.
   * @default 0
   */
  minIdle?: number;
  /**
   * How long `getConnection()` waits for a free connection before `PoolExhaustedError`.
   * @default 5000
   */
  acquireTimeoutMs?: number;
  /**
   * Deadline for TCP/TLS connect plus the handshake.
   * @default 5000
   */
  connectTimeoutMs?: number;
  /**
   * One deadline per command, covering queueing, connect, write, reply and retries. Blocking commands get their
   * own timeout on top of it (and none when they block forever).
   * @default 10000
   */
  commandTimeoutMs?: number;
  /**
   * Idle connections above `minIdle` are closed after this long.
   * @default 60000
   */
  idleTimeoutMs?: number;
  /**
   * Connections older than this (with ±10 % jitter) are retired gracefully; 0 keeps them forever.
   * @default 0
   */
  maxLifetimeMs?: number;
  /**
   * A connection idle for longer than this is PINGed before it is leased; 0 never checks.
   * @default 30000
   */
  healthCheckIntervalMs?: number;
  /**
   * TCP keepalive initial delay; 0 disables keepalive.
   * @default 30000
   */
  keepAliveMs?: number;
  /**
   * Most commands and lease requests that may wait for a connection at once; beyond it callers get
   * `PoolExhaustedError` at once instead of an ever-growing backlog.
   * @default 100000
   */
  maxQueueLength?: number;
  /**
   * High-water mark of one shared connection: with this many replies outstanding it takes no new commands
   * (between event-loop turns) until half of them arrived; when every shared connection is there, commands wait
   * in the backlog (bounded by `maxQueueLength`). So pending work stays bounded even when the server freezes.
   * @default 10000
   */
  maxPendingPerConnection?: number;
  /**
   * Retry and reconnect backoff.
   * @default { attempts: 3, baseDelayMs: 50, maxDelayMs: 2000 }
   */
  retry?: RetryOptions;
  /**
   * How long `disconnect()` lets in-flight commands finish before closing every socket.
   * @default 5000
   */
  drainTimeoutMs?: number;
  /**
   * Protocol decoder limits against hostile or broken servers.
   * @default { maxDepth: 1024, maxAggregateLength: 100_000_000, maxBulkLength: 536_870_912, maxLineLength: 1_048_576 }
   */
  decoderLimits?: DecoderLimits;
  /**
   * Sends READONLY on every connection, so a Redis Cluster replica serves reads (the cluster pool sets it for
   * its replica pools).
   * @default false
   */
  readOnly?: boolean;
  /**
   * Checks `ROLE` in every new connection's handshake (sent in the same write) and refuses a node of another
   * role with a `ConnectionError`, retried with backoff like any failed connect. A `SentinelPool` sets `'master'`
   * on its master's pool, so a node demoted behind its back is never used as the master.
   * @default undefined (not checked)
   */
  expectRole?: 'master' | 'slave';
  /**
   * Client-side caching with RESP3 `CLIENT TRACKING` (needs `protocol: 3`): replies of read-only single-key
   * commands (GET, HGETALL, SMEMBERS, ZRANGE...) are kept in the process until Redis pushes an invalidation of
   * their key; see the README's "Client-side caching".
   * @default undefined (no cache)
   */
  clientSideCache?: ClientSideCacheOptions;
}

/** Options with every default applied. */
export interface ResolvedPoolOptions {
  connection: ConnectionOptions;
  dispatch: 'multiplexed' | 'exclusive';
  maxConnections: number;
  maxLeases: number;
  minIdle: number;
  acquireTimeoutMs: number;
  commandTimeoutMs: number;
  idleTimeoutMs: number;
  maxLifetimeMs: number;
  healthCheckIntervalMs: number;
  maxQueueLength: number;
  maxPendingPerConnection: number;
  retry: Required<RetryOptions>;
  drainTimeoutMs: number;
  /** The client-side cache's limits, or `null` without one. */
  clientSideCache: CacheLimits | null;
}

/*
 * Compile-time checks that the run-time key lists (option-keys.ts) name exactly the keys of these interfaces:
 * each fails to compile when an option is added to one and not the other.
 */
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : never) : never;
const _poolKeysMatch: Same<keyof PoolOptions, (typeof POOL_OPTION_KEYS)[number]> = true;
const _retryKeysMatch: Same<keyof RetryOptions, (typeof RETRY_OPTION_KEYS)[number]> = true;
const _limitKeysMatch: Same<keyof DecoderLimits, (typeof DECODER_LIMIT_OPTION_KEYS)[number]> = true;
void [_poolKeysMatch, _retryKeysMatch, _limitKeysMatch];

export { INTEGER_OPTIONS };

/**
 * Checks every option (see `checkPoolOptions`) and applies the defaults, so a bad option fails at construction
 * with a clear message naming the pool.
 * @throws ConfigurationError
 */
export function resolvePoolOptions(options: PoolOptions): ResolvedPoolOptions {
  checkPoolOptions(options);
  const retryOptions = options.retry ?? {};
  const maxConnections = options.maxConnections ?? POOL_DEFAULTS.maxConnections;
  const maxLeases = options.maxLeases ?? maxConnections;
  const maxPendingPerConnection =
    options.maxPendingPerConnection ?? POOL_DEFAULTS.maxPendingPerConnection;
  const minIdle = options.minIdle ?? POOL_DEFAULTS.minIdle;
  const tls = options.tls === true ? {} : options.tls === false ? undefined : options.tls;
  const commandTimeoutMs = options.commandTimeoutMs ?? POOL_DEFAULTS.commandTimeoutMs;
  const connection: ConnectionOptions = {
    host: options.host ?? POOL_DEFAULTS.host,
    port: options.port ?? POOL_DEFAULTS.port,
    db: options.db ?? POOL_DEFAULTS.db,
    protocol: options.protocol ?? POOL_DEFAULTS.protocol,
    connectTimeoutMs: options.connectTimeoutMs ?? POOL_DEFAULTS.connectTimeoutMs,
    commandTimeoutMs,
    keepAliveMs: options.keepAliveMs ?? POOL_DEFAULTS.keepAliveMs,
  };
  if (options.path !== undefined) connection.path = options.path;
  if (tls !== undefined) connection.tls = tls;
  if (options.username !== undefined) connection.username = options.username;
  if (options.password !== undefined) connection.password = options.password;
  if (options.clientName !== undefined) connection.clientName = options.clientName;
  if (options.decoderLimits !== undefined) connection.decoderLimits = options.decoderLimits;
  if (options.readOnly === true) connection.readOnly = true;
  if (options.expectRole !== undefined) connection.expectRole = options.expectRole;
  checkClientSideCache(options as Readonly<Record<string, unknown>>, options.name, true);
  if (options.clientSideCache !== undefined) connection.tracking = true;
  const retry = retryOptions;
  return {
    connection,
    dispatch: options.dispatch ?? POOL_DEFAULTS.dispatch,
    maxConnections,
    maxLeases,
    minIdle,
    acquireTimeoutMs: options.acquireTimeoutMs ?? POOL_DEFAULTS.acquireTimeoutMs,
    commandTimeoutMs,
    idleTimeoutMs: options.idleTimeoutMs ?? POOL_DEFAULTS.idleTimeoutMs,
    maxLifetimeMs: options.maxLifetimeMs ?? POOL_DEFAULTS.maxLifetimeMs,
    healthCheckIntervalMs: options.healthCheckIntervalMs ?? POOL_DEFAULTS.healthCheckIntervalMs,
    maxQueueLength: options.maxQueueLength ?? POOL_DEFAULTS.maxQueueLength,
    maxPendingPerConnection,
    retry: {
      attempts: retry.attempts ?? POOL_DEFAULTS.retry.attempts,
      baseDelayMs: retry.baseDelayMs ?? POOL_DEFAULTS.retry.baseDelayMs,
      maxDelayMs: retry.maxDelayMs ?? POOL_DEFAULTS.retry.maxDelayMs,
    },
    drainTimeoutMs: options.drainTimeoutMs ?? POOL_DEFAULTS.drainTimeoutMs,
    clientSideCache: resolveCacheLimits(options.clientSideCache),
  };
}
