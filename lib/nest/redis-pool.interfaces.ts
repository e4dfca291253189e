import type {
  InjectionToken,
  ModuleMetadata,
  OptionalFactoryDependency,
  Provider,
  Type,
} from '@nestjs/common';
import type { ClusterPoolOptions } from '../cluster/cluster-options';
import type { RedisPoolInstrumentationOptions } from './redis-pool.instrumentation';
import type { PoolOptions } from '../pool/pool-options';
import type { SentinelPoolOptions } from '../sentinel/sentinel-options';

/**
 * When the application starts:
 * - `'lazy'`: boot never waits for Redis. The pool connects on first use, and one PING sent after bootstrap says
 *   in the log whether Redis is reachable. The app starts even when Redis is down.
 * - `'wait'`: the pool must answer PING within `startupTimeoutMs`, or the boot fails with a clear error.
 */
export type RedisStartupPolicy = 'lazy' | 'wait';

/**
 * Redis Cluster mode: the seeds and routing options of a `ClusterPool`. Connection options (password, tls,
 * protocol, maxConnections per node, timeouts...) are the module's own, shared by every node.
 */
export type RedisPoolClusterOptions = Pick<
  ClusterPoolOptions,
  | 'nodes'
  | 'readFrom'
  | 'maxRedirections'
  | 'refreshIntervalMs'
  | 'refreshMinIntervalMs'
  | 'stallTimeoutMs'
  | 'natMap'
  | 'allowedHosts'
  | 'splitAcrossSlots'
>;

/**
 * Redis Sentinel mode: the sentinels, the master's name and the sentinels' own credentials of a `SentinelPool`.
 * Connection options of the data nodes (password, tls, maxConnections, timeouts...) are the module's own.
 */
export type RedisPoolSentinelOptions = Pick<
  SentinelPoolOptions,
  | 'sentinels'
  | 'masterName'
  | 'sentinelPassword'
  | 'sentinelUsername'
  | 'sentinelTls'
  | 'natMap'
  | 'readFrom'
  | 'recheckIntervalMs'
  | 'failoverPauseMs'
>;

/**
 * Everything that configures one pool, as returned by a `forRootAsync` factory: the `ConnectionPool` options plus
 * the module's start-up and shutdown policy.
 */
export interface RedisPoolFactoryOptions extends PoolOptions {
  /**
   * Start-up policy; see {@link RedisStartupPolicy}.
   * @default 'lazy'
   */
  startup?: RedisStartupPolicy;
  /**
   * With `startup: 'wait'`, how long boot waits for Redis to answer PING before it fails.
   * @default 10000
   */
  startupTimeoutMs?: number;
  /**
   * OpenTelemetry spans and metrics for the pools of the process (`nestjs-redis-pool/otel`'s
   * `instrumentRedisPools`, subscribed once however many registrations ask, and unsubscribed when the last of them
   * closed): `true` for the global tracer and meter providers, or its options. Needs `@opentelemetry/api`.
   * @default false
   */
  instrumentation?: boolean | RedisPoolInstrumentationOptions;
  /**
   * How long shutdown lets in-flight commands finish before every socket is closed (the pool's own option, used
   * by the module when the application closes).
   * @default 5000
   */
  drainTimeoutMs?: number;
  /**
   * Redis Cluster: the pool is then a `ClusterPool` that discovers the cluster from these seed nodes and routes
   * every command by hash slot. `url`, `host`, `port` and `path` must not be set with it.
   * @default undefined (one server)
   */
  cluster?: RedisPoolClusterOptions;
  /**
   * Redis Sentinel: the pool is then a `SentinelPool` that always talks to the current master. `url`, `host`,
   * `port`, `path` and `cluster` must not be set with it.
   * @default undefined (one server)
   */
  sentinel?: RedisPoolSentinelOptions;
}

/** Options of `RedisPoolModule.forRoot()`. */
export interface RedisPoolModuleOptions extends RedisPoolFactoryOptions {
  /**
   * Name of this pool; several pools with different names live side by side. Inject it with
   * `@InjectRedis(name)` / `@InjectPool(name)`.
   * @default 'default'
   */
  name?: string;
  /**
   * Register the module globally, so every module can inject the pool without importing it. With `false`, import
   * the module where it is needed (or re-export it from a shared module).
   * @default true
   */
  isGlobal?: boolean;
}

/** Implemented by the class given to `forRootAsync({ useClass })` or `forRootAsync({ useExisting })`. */
export interface RedisPoolOptionsFactory {
  createRedisPoolOptions(): RedisPoolFactoryOptions | Promise<RedisPoolFactoryOptions>;
}

/** Options of `RedisPoolModule.forRootAsync()`: give exactly one of `useFactory`, `useClass`, `useExisting`. */
export interface RedisPoolModuleAsyncOptions extends Pick<ModuleMetadata, 'imports'> {
  /**
   * Name of this pool (it cannot come from the factory: the injection tokens depend on it).
   * @default 'default'
   */
  name?: string;
  /**
   * Register the module globally.
   * @default true
   */
  isGlobal?: boolean;
  /**
   * Builds the options; its parameters are the providers listed in `inject`.
   * @default undefined
   */
  useFactory?: (...args: never[]) => RedisPoolFactoryOptions | Promise<RedisPoolFactoryOptions>;
  /**
   * Providers passed to `useFactory`, in order.
   * @default []
   */
  inject?: Array<InjectionToken | OptionalFactoryDependency>;
  /**
   * A class the module instantiates (in its own scope) to call `createRedisPoolOptions()` on.
   * @default undefined
   */
  useClass?: Type<RedisPoolOptionsFactory>;
  /**
   * An existing provider (from `imports`) to call `createRedisPoolOptions()` on.
   * @default undefined
   */
  useExisting?: InjectionToken<RedisPoolOptionsFactory>;
  /**
   * More providers registered in the module, e.g. for `inject`.
   * @default []
   */
  extraProviders?: Provider[];
}
