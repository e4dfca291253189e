import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import { ConnectionPool } from '../pool/connection-pool';
import type { RedisPool } from '../pool/redis-pool.interface';

/** Options of a liveness check (`RedisHealthIndicator.isAlive`, `PoolLiveness.check`). */
export interface RedisLivenessOptions {
  /**
   * Name of the pool to check, as given to `RedisPoolModule.forRoot({ name })`.
   * @default 'default'
   */
  name?: string;
  /**
   * The pool is wedged when its queue (lease waiters plus commands waiting for a connection) has been at
   * `maxQueueLength` for this long, across checks.
   * @default 30000
   */
  queueFullForMs?: number;
  /**
   * The pool is wedged when callers wait for a lease while every lease of the budget (`maxLeases`) has been held
   * longer than this: leases leaked (never released). Leases held for ever with nobody waiting (blocking
   * workers, subscribers) are fine.
   * @default 60000
   */
  leaseHeldForMs?: number;
  /**
   * The process is wedged when the event loop was blocked this long at once since the previous check (so the
   * pool's timers could not fire).
   * @default 5000
   */
  maxEventLoopDelayMs?: number;
}

/** The state a liveness check reports. */
export type LivenessState = 'serving' | 'redis_unreachable' | 'shutting_down' | 'wedged';

/** What a liveness check found: whether the process should be restarted, and why. */
export interface LivenessResult {
  alive: boolean;
  state: LivenessState;
  details: Record<string, unknown>;
}

const DEFAULTS = { queueFullForMs: 30_000, leaseHeldForMs: 60_000, maxEventLoopDelayMs: 5_000 };

/**
 * Liveness of one pool, for a Kubernetes `livenessProbe`: it never sends anything to Redis, so a Redis outage (the
 * pool failing fast and reconnecting, as designed) keeps it alive; it reports not alive only when the pool itself
 * is wedged — its queue full for `queueFullForMs`, every lease held past `leaseHeldForMs` while callers wait, or
 * the event loop blocked past `maxEventLoopDelayMs`. During `disconnect()`'s drain it reports `shutting_down`
 * (alive: a restart would only cut the drain short). Keeps a little state between checks (since when the queue
 * is full, the event-loop delay histogram); `stop()` ends the histogram.
 */
export class PoolLiveness {
  private queueFullSince: number | null = null;
  private delay: IntervalHistogram | null = null;

  check(pool: RedisPool, options: RedisLivenessOptions = {}): LivenessResult {
    const limits = { ...DEFAULTS, ...definedOf(options) };
    const stats = pool.stats();
    const telemetry = pool instanceof ConnectionPool ? pool.telemetry : undefined;
    const now = Date.now();
    const details: Record<string, unknown> = {
      total: stats.total,
      leased: stats.leased,
      maxLeases: stats.maxLeases,
      waiting: stats.waiting,
      queued: stats.queued,
    };
    if (pool.closed) return { alive: true, state: 'shutting_down', details };

    const eventLoopDelayMs = this.eventLoopDelayMs();
    details.eventLoopDelayMaxMs = eventLoopDelayMs;
    if (eventLoopDelayMs >= limits.maxEventLoopDelayMs) {
      return wedged(details, `the event loop was blocked for ${eventLoopDelayMs} ms`);
    }

    const queueLimit = telemetry?.maxQueueLength ?? Infinity;
    if (stats.waiting + stats.queued >= queueLimit) this.queueFullSince ??= now;
    else this.queueFullSince = null;
    if (this.queueFullSince !== null && now - this.queueFullSince >= limits.queueFullForMs) {
      return wedged(
        details,
        `the queue has been full (${queueLimit}) for ${now - this.queueFullSince} ms`,
      );
    }

    if (telemetry !== undefined) {
      const ages = telemetry.leaseAges(limits.leaseHeldForMs);
      details.oldestLeaseMs = Math.round(ages.oldestMs);
      if (stats.waiting > 0 && stats.maxLeases > 0 && ages.over >= stats.maxLeases) {
        return wedged(
          details,
          `all ${stats.maxLeases} leases held for over ${limits.leaseHeldForMs} ms while ${stats.waiting} callers wait (leaked leases?)`,
        );
      }
    }
    const unreachable = telemetry?.down ?? false;
    return { alive: true, state: unreachable ? 'redis_unreachable' : 'serving', details };
  }

  /** Ends the event-loop delay histogram. */
  stop(): void {
    this.delay?.disable();
    this.delay = null;
  }

  /** The longest event-loop stall since the previous check, in ms (0 at the first check). */
  private eventLoopDelayMs(): number {
    if (this.delay === null) {
      this.delay = monitorEventLoopDelay({ resolution: 20 });
      this.delay.enable();
      return 0;
    }
    const maxMs = Math.round(this.delay.max / 1e6);
    this.delay.reset();
    return maxMs;
  }
}

function wedged(details: Record<string, unknown>, why: string): LivenessResult {
  return {
    alive: false,
    state: 'wedged',
    details: { message: `Redis pool wedged: ${why}`, ...details },
  };
}

function definedOf(options: RedisLivenessOptions): Partial<typeof DEFAULTS> {
  const out: Partial<typeof DEFAULTS> = {};
  if (options.queueFullForMs !== undefined) out.queueFullForMs = options.queueFullForMs;
  if (options.leaseHeldForMs !== undefined) out.leaseHeldForMs = options.leaseHeldForMs;
  if (options.maxEventLoopDelayMs !== undefined)
    out.maxEventLoopDelayMs = options.maxEventLoopDelayMs;
  return out;
}
