import { Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { isFatal } from '../pool/connection-supervisor';
import type { RedisPool } from '../pool/redis-pool.interface';
import { BOOT_PROBE_TIMEOUT_MS, REDIS_POOL_LOGGER_CONTEXT } from './redis.constants';
import type { RedisPoolFactoryOptions } from './redis-pool.interfaces';
import { pingWithin, reasonOf } from './redis-ping';
import { describeTarget } from './redis-target';

type Reachability = 'unknown' | 'up' | 'down';

/**
 * The lifecycle of one registered pool: says in the log whether Redis is reachable (once per change, never per
 * command), and closes the pool when the application shuts down.
 *
 * The pool is closed in `onApplicationShutdown`, which Nest calls after the HTTP server stopped taking requests
 * and after every `onModuleDestroy`/`beforeApplicationShutdown` hook, so those hooks may still use Redis.
 * Each registration has its own instance and closes only its own pool.
 */
export class RedisPoolLifecycle implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(REDIS_POOL_LOGGER_CONTEXT);
  private readonly target: string;
  private state: Reachability;
  /** Whether the pool has reached Redis once: the first success logs "connected", later ones "reconnected". */
  private connectedOnce: boolean;
  private closing = false;

  constructor(
    private readonly name: string,
    private readonly pool: RedisPool,
    private readonly options: RedisPoolFactoryOptions,
  ) {
    this.target = describeTarget(options);
    // A 'wait' pool only gets here once it answered PING.
    this.state = options.startup === 'wait' ? 'up' : 'unknown';
    this.connectedOnce = this.state === 'up';
    // The pool may be a test double without events.
    if (typeof pool.on === 'function') {
      pool.on('down', this.onDown);
      pool.on('up', this.onUp);
    }
  }

  /** A lazy pool sends one PING after bootstrap, without delaying it, to say whether Redis is reachable. */
  onApplicationBootstrap(): void {
    if (this.options.startup === 'wait' || this.closing) return;
    pingWithin(this.pool, BOOT_PROBE_TIMEOUT_MS, this.target).then(
      (roundTripMs) => {
        if (this.closing || this.state === 'up') return;
        this.state = 'up';
        this.connectedOnce = true;
        this.logger.log(
          `Redis pool "${this.name}" connected to ${this.target} (PING ${roundTripMs} ms)`,
        );
      },
      (error: unknown) => {
        if (this.closing || this.state === 'down') return;
        // A failed connect already reported itself through the pool's 'down' event; this is something else,
        // such as a server that accepts connections but does not answer.
        this.logger.warn(
          `Redis pool "${this.name}" got no answer from ${this.target} at boot: ${reasonOf(error)}. ` +
            "The application runs without it (startup: 'lazy').",
        );
      },
    );
  }

  /** Closes the pool: in-flight commands get up to `drainTimeoutMs`. Failures are logged, never rethrown. */
  async onApplicationShutdown(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    if (typeof this.pool.off === 'function') {
      this.pool.off('down', this.onDown);
      this.pool.off('up', this.onUp);
    }
    if (typeof this.pool.disconnect !== 'function') return;
    try {
      const drainTimeoutMs = this.options.drainTimeoutMs;
      await this.pool.disconnect(drainTimeoutMs !== undefined ? { drainTimeoutMs } : undefined);
      this.logger.log(`Redis pool "${this.name}" closed`);
    } catch (error) {
      this.logger.error(
        `Redis pool "${this.name}" did not close cleanly: ${reasonOf(error)}`,
        error instanceof Error ? error.stack : undefined,
      );
    }
  }

  private readonly onDown = (error: unknown): void => {
    if (this.closing || this.state === 'down') return;
    const lazy = this.state === 'unknown';
    this.state = 'down';
    // Refused credentials, an ACL denial or a failed TLS verification: Redis is there, the configuration is wrong.
    if (error instanceof Error && isFatal(error)) {
      this.logger.error(
        `Redis pool "${this.name}" was refused by ${this.target}: ${reasonOf(error)}. ` +
          `${lazy ? "The application runs without it (startup: 'lazy'); commands" : 'Commands'} fail ` +
          'until the configuration is fixed (each new command tries once more).',
      );
      return;
    }
    const hint = lazy
      ? "The application runs without it (startup: 'lazy'); commands fail until Redis is reachable."
      : 'Commands fail until it is reachable again.';
    this.logger.warn(
      `Redis pool "${this.name}" cannot reach ${this.target}: ${reasonOf(error)}. ${hint}`,
    );
  };

  private readonly onUp = (): void => {
    if (this.closing || this.state === 'up') return;
    this.state = 'up';
    const verb = this.connectedOnce ? 'reconnected' : 'connected';
    this.connectedOnce = true;
    this.logger.log(`Redis pool "${this.name}" ${verb} to ${this.target}`);
  };
}
