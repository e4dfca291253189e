import {
  Inject,
  Injectable,
  Optional,
  type OnModuleDestroy,
  type OnModuleInit,
} from '@nestjs/common';
import { ModuleRef, ModulesContainer } from '@nestjs/core';
import { HealthIndicatorService, type HealthIndicatorResult } from '@nestjs/terminus';
import { ClusterPool } from '../cluster/cluster-pool';
import { SentinelPool } from '../sentinel/sentinel-pool';
import type { RedisPool } from '../pool/redis-pool.interface';
import { DEFAULT_POOL_NAME } from '../nest/redis.constants';
import { getPoolToken } from '../nest/redis.tokens';
import { registeredPoolNames } from '../nest/redis-pool.registry';
import { ConfigurationError } from '../errors/redis-pool.errors';
import { pingWithin, reasonOf } from '../nest/redis-ping';
import { withinDeadline } from '../utils/deadline';
import { PoolLiveness, type RedisLivenessOptions } from './pool-liveness';
import { DEFAULT_HEALTH_TIMEOUT_MS, REDIS_HEALTH_OPTIONS } from './redis-health.constants';
import type {
  RedisHealthCheckOptions,
  RedisHealthModuleOptions,
  RedisPingCheckOptions,
} from './redis-health.interfaces';

/**
 * Terminus health indicator for the pools of `RedisPoolModule`. `up` carries the PING round trip
 * (`responseTimeMs`) and the pool's stats; `down` (HTTP 503 through `HealthCheckService`) carries the reason. A
 * check never takes longer than `timeoutMs`, even when the server is frozen or gone or every connection is leased.
 *
 * @example
 * ```ts
 * @Get('health')
 * @HealthCheck()
 * check() {
 *   return this.health.check([() => this.redis.isHealthy('redis')]);
 * }
 * ```
 */
@Injectable()
export class RedisHealthIndicator implements OnModuleInit, OnModuleDestroy {
  private readonly pools = new Map<string, RedisPool>();
  private readonly liveness = new Map<string, PoolLiveness>();

  constructor(
    private readonly indicators: HealthIndicatorService,
    private readonly moduleRef: ModuleRef,
    private readonly modules: ModulesContainer,
    @Optional()
    @Inject(REDIS_HEALTH_OPTIONS)
    private readonly defaults: RedisHealthModuleOptions | null = null,
  ) {}

  /**
   * The pool named in `RedisHealthModule.register({ name })` must exist: a typo fails the boot, listing the
   * registered names, rather than turning the health endpoint into a permanent 503.
   */
  onModuleInit(): void {
    if (this.defaults?.name !== undefined) this.requirePool(this.defaults.name);
  }

  /**
   * `isHealthy` in Terminus's own naming (`MicroserviceHealthIndicator.pingCheck`): PINGs the pool called
   * `options.name` within `options.timeout` ms.
   * @param key the key of this check in the health report, e.g. `'redis'`.
   */
  pingCheck<const Key extends string>(
    key: Key,
    options: RedisPingCheckOptions = {},
  ): Promise<HealthIndicatorResult<Key>> {
    const { timeout, name } = options;
    return this.isHealthy(key, {
      ...(name !== undefined && { name }),
      ...(timeout !== undefined && { timeoutMs: timeout }),
    });
  }

  /**
   * PINGs the pool called `options.name` and reports it under `key`.
   * @param key the key of this check in the health report, e.g. `'redis'`.
   * @throws ConfigurationError when no pool of that name is registered (a mistake, not an outage: the health
   * endpoint then answers 500 and the log names the registered pools).
   */
  async isHealthy<const Key extends string>(
    key: Key,
    options: RedisHealthCheckOptions = {},
  ): Promise<HealthIndicatorResult<Key>> {
    const indicator = this.indicators.check(key);
    const name = options.name ?? this.defaults?.name ?? DEFAULT_POOL_NAME;
    const timeoutMs = options.timeoutMs ?? this.defaults?.timeoutMs ?? DEFAULT_HEALTH_TIMEOUT_MS;
    const pool = this.requirePool(name);
    try {
      if (pool instanceof ClusterPool) {
        const { up, details } = await this.checkCluster(pool, timeoutMs);
        return up ? indicator.up(details) : indicator.down(details);
      }
      if (pool instanceof SentinelPool) {
        const { up, details } = await this.checkSentinel(pool, timeoutMs, name);
        return up ? indicator.up(details) : indicator.down(details);
      }
      const responseTimeMs = await pingWithin(pool, timeoutMs, `Redis pool "${name}"`);
      return indicator.up({ responseTimeMs, ...pool.stats() });
    } catch (error) {
      return indicator.down({ message: reasonOf(error) });
    }
  }

  /**
   * Liveness, for a Kubernetes `livenessProbe` (`isHealthy` is the `readinessProbe`): never sends anything to
   * Redis, so it stays `up` while Redis is down and the pool fails fast and reconnects as designed (`state:
   * 'redis_unreachable'`), and during the drain of a shutdown (`state: 'shutting_down'`). It is `down` (`state:
   * 'wedged'`) only when the pool itself is stuck: its queue full for `queueFullForMs`, every lease held past
   * `leaseHeldForMs` while callers wait, or the event loop blocked for `maxEventLoopDelayMs`.
   */
  async isAlive<const Key extends string>(
    key: Key,
    options: RedisLivenessOptions = {},
  ): Promise<HealthIndicatorResult<Key>> {
    const name = options.name ?? this.defaults?.name ?? DEFAULT_POOL_NAME;
    const pool = this.requirePool(name);
    const liveness = this.liveness.get(name) ?? new PoolLiveness();
    this.liveness.set(name, liveness);
    const { alive, state, details } = liveness.check(pool, options);
    const indicator = this.indicators.check(key);
    return alive ? indicator.up({ state, ...details }) : indicator.down({ state, ...details });
  }

  /** Ends the event-loop delay monitors of `isAlive`. */
  onModuleDestroy(): void {
    for (const liveness of this.liveness.values()) liveness.stop();
  }

  /**
   * A cluster is up when CLUSTER INFO says `cluster_state:ok` and every master answers PING; the details carry
   * the state and each node's reachability either way. Bounded by `timeoutMs` as a whole.
   */
  private async checkCluster(
    pool: ClusterPool,
    timeoutMs: number,
  ): Promise<{ up: boolean; details: Record<string, unknown> }> {
    const started = performance.now();
    const health = await withinDeadline(pool.health(timeoutMs), timeoutMs, 'Redis cluster health');
    const details: Record<string, unknown> = {
      responseTimeMs: Math.round(performance.now() - started),
      cluster_state: health.state,
      nodes: health.nodes,
      ...pool.stats(),
    };
    const mastersDown = health.nodes.filter((node) => node.role === 'master' && !node.up);
    if (health.state === 'ok' && mastersDown.length === 0) return { up: true, details };
    const why =
      health.state !== 'ok'
        ? `cluster_state is ${health.state}`
        : `master ${mastersDown.map((node) => node.address).join(', ')} unreachable`;
    return { up: false, details: { message: `Redis cluster: ${why}`, ...details } };
  }

  /**
   * A sentinel pool is up when its master answers PING and at least one sentinel answers; the details say which
   * master it is on, and how many of the sentinels it knows answered. Bounded by `timeoutMs` as a whole.
   */
  private async checkSentinel(
    pool: SentinelPool,
    timeoutMs: number,
    name: string,
  ): Promise<{ up: boolean; details: Record<string, unknown> }> {
    const [responseTimeMs, answered] = await Promise.all([
      pingWithin(pool, timeoutMs, `Redis pool "${name}"`),
      withinDeadline(pool.answeringSentinels(), timeoutMs, 'Redis sentinels').catch(() => 0),
    ]);
    const details: Record<string, unknown> = {
      responseTimeMs,
      master: pool.masterAddress,
      sentinels: answered,
      sentinelsKnown: pool.sentinels.length,
      ...pool.stats(),
    };
    if (answered > 0) return { up: true, details };
    return { up: false, details: { message: 'Redis sentinels: none answered', ...details } };
  }

  private requirePool(name: string): RedisPool {
    const pool = this.poolNamed(name);
    if (pool !== undefined) return pool;
    const names = registeredPoolNames(this.modules).map((known) => `"${known}"`);
    throw new ConfigurationError(
      `RedisHealthIndicator: no Redis pool named "${name}" is registered (registered: ` +
        `${names.length > 0 ? names.join(', ') : 'none'}); check the name given to isHealthy(), pingCheck() ` +
        `or RedisHealthModule.register(), or register it with RedisPoolModule.forRoot({ name: '${name}' })`,
    );
  }

  private poolNamed(name: string): RedisPool | undefined {
    let pool = this.pools.get(name);
    if (pool === undefined) {
      try {
        pool = this.moduleRef.get<RedisPool>(getPoolToken(name), { strict: false });
      } catch {
        return undefined;
      }
      this.pools.set(name, pool);
    }
    return pool;
  }
}
