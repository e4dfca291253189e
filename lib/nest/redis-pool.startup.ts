import { Logger } from '@nestjs/common';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  AuthenticationError,
  ConfigurationError,
  ConnectionError,
} from '../errors/redis-pool.errors';
import { ClusterPool } from '../cluster/cluster-pool';
import { SentinelPool } from '../sentinel/sentinel-pool';
import { isSentinelUrl } from '../sentinel/sentinel-url';
import { ConnectionPool } from '../pool/connection-pool';
import type { PoolOptions } from '../pool/pool-options';
import type { RedisPool } from '../pool/redis-pool.interface';
import {
  DEFAULT_STARTUP_TIMEOUT_MS,
  REDIS_POOL_LOGGER_CONTEXT,
  STARTUP_RETRY_DELAY_MS,
} from './redis.constants';
import type { RedisPoolFactoryOptions, RedisPoolModuleOptions } from './redis-pool.interfaces';
import { revealOptions } from './redis-pool.options';
import { pingWithin, reasonOf } from './redis-ping';
import { describeTarget } from './redis-target';

/** Checks a pool name; it becomes part of the injection tokens. */
export function checkPoolName(name: unknown): string {
  if (typeof name !== 'string' || name.trim() === '') {
    throw new ConfigurationError(
      `RedisPoolModule: the pool name must be a non-empty string, not ${JSON.stringify(name)}`,
    );
  }
  return name;
}

/**
 * Checks the module-level options (the pool's own are checked by `ConnectionPool`). `name` is the registration's
 * name: options coming from a `forRootAsync` factory must not name another pool.
 */
export function checkModuleOptions(options: RedisPoolModuleOptions, name: string): void {
  if (options === null || typeof options !== 'object') {
    throw new ConfigurationError(
      // Not the value itself: a factory that returns its URL string instead of { url } would print it.
      `RedisPoolModule: the options of pool "${name}" must be an object, not ${options === null ? 'null' : typeof options}`,
    );
  }
  if (options.name !== undefined && options.name !== name) {
    throw new ConfigurationError(
      `RedisPoolModule: options name "${options.name}" differs from the registration's name "${name}"; ` +
        'with forRootAsync, pass the name to forRootAsync({ name }) rather than return it from the factory',
    );
  }
  if (options.startup !== undefined && options.startup !== 'lazy' && options.startup !== 'wait') {
    throw new ConfigurationError(
      `RedisPoolModule: option startup of pool "${name}" must be 'lazy' or 'wait'`,
    );
  }
  const timeout = options.startupTimeoutMs;
  if (timeout !== undefined && !(Number.isInteger(timeout) && timeout > 0)) {
    throw new ConfigurationError(
      `RedisPoolModule: option startupTimeoutMs of pool "${name}" must be a positive integer`,
    );
  }
  if (options.sentinel !== undefined) {
    const clash = (['url', 'host', 'port', 'path', 'cluster'] as const).filter(
      (key) => options[key] !== undefined,
    );
    if (clash.length > 0) {
      throw new ConfigurationError(
        `RedisPoolModule: pool "${name}" sets sentinel together with ${clash.join(', ')}; ` +
          'the sentinels say where the master is',
      );
    }
  }
  if (options.cluster !== undefined) {
    const single = (['url', 'host', 'port', 'path'] as const).filter(
      (key) => options[key] !== undefined,
    );
    if (single.length > 0) {
      throw new ConfigurationError(
        `RedisPoolModule: pool "${name}" sets cluster together with ${single.join(', ')}; ` +
          'list every seed in cluster.nodes instead',
      );
    }
  }
}

/** Pool options but the URL (what a `SentinelPool` built from that URL takes over it). */
function withoutUrl(options: PoolOptions): Omit<PoolOptions, 'url' | 'host' | 'port' | 'path'> {
  const { url: _url, host: _host, port: _port, path: _path, ...rest } = options;
  return rest;
}

/** The options `ConnectionPool` takes: the module's own keys removed. */
export function toPoolOptions(options: RedisPoolModuleOptions): PoolOptions {
  const {
    name: _name,
    isGlobal: _isGlobal,
    startup: _startup,
    startupTimeoutMs: _startupTimeoutMs,
    cluster: _cluster,
    sentinel: _sentinel,
    ...poolOptions
  } = options;
  return poolOptions;
}

/**
 * Creates the pool of one registration. With `startup: 'wait'` it resolves only once Redis answered PING, and
 * otherwise rejects (after closing the pool) with a `ConnectionError` naming the masked URL and the last failure,
 * which fails the application's boot.
 */
export async function createRedisPool(
  name: string,
  options: RedisPoolFactoryOptions,
): Promise<RedisPool> {
  checkModuleOptions(options, name);
  // The only place the secrets leave their protected copy: into the pool, which keeps them to itself.
  const poolOptions = toPoolOptions(revealOptions(options));
  const { cluster, sentinel } = revealOptions(options);
  const pool: RedisPool =
    sentinel !== undefined
      ? new SentinelPool({ ...poolOptions, ...sentinel })
      : isSentinelUrl(poolOptions.url)
        ? SentinelPool.fromUrl(poolOptions.url, withoutUrl(poolOptions))
        : cluster !== undefined
          ? new ClusterPool({ ...poolOptions, ...cluster })
          : new ConnectionPool(poolOptions);
  if (options.startup === 'wait') {
    await waitUntilReady(
      name,
      pool,
      describeTarget(options),
      options.startupTimeoutMs ?? DEFAULT_STARTUP_TIMEOUT_MS,
    );
  }
  return pool;
}

async function waitUntilReady(
  name: string,
  pool: RedisPool,
  target: string,
  timeoutMs: number,
): Promise<void> {
  const logger = new Logger(REDIS_POOL_LOGGER_CONTEXT);
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  let announced = false;
  for (;;) {
    const remaining = deadline - Date.now();
    if (remaining <= 0) break;
    try {
      const roundTripMs = await pingWithin(pool, remaining, target);
      logger.log(`Redis pool "${name}" connected to ${target} (PING ${roundTripMs} ms)`);
      return;
    } catch (error) {
      lastError = error;
      // Wrong credentials will not fix themselves while we wait.
      if (error instanceof AuthenticationError) break;
    }
    if (!announced) {
      announced = true;
      logger.warn(
        `Redis pool "${name}" cannot reach ${target} yet (${reasonOf(lastError)}); waiting up to ${timeoutMs} ms (startup: 'wait')`,
      );
    }
    const pause = Math.min(STARTUP_RETRY_DELAY_MS, deadline - Date.now());
    if (pause > 0) await sleep(pause);
  }
  await pool.disconnect({ drainTimeoutMs: 0 }).catch(() => undefined);
  const why =
    lastError instanceof AuthenticationError
      ? 'refused the credentials'
      : `did not answer PING within ${timeoutMs} ms`;
  const last = lastError === undefined ? '' : ` Last error: ${reasonOf(lastError)}.`;
  throw new ConnectionError(
    `Redis pool "${name}" is not ready: ${target} ${why} (startup: 'wait').${last} ` +
      `Start Redis, fix the URL, or use startup: 'lazy' to boot without it.`,
    { cause: lastError },
  );
}
