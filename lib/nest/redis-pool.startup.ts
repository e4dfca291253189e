import { Logger } from '@nestjs/common';
import { setTimeout as sleep } from 'node:timers/promises';
import { AuthenticationError, ConnectionError } from '../errors/redis-pool.errors';
import { ClusterPool } from '../cluster/cluster-pool';
import { SentinelPool } from '../sentinel/sentinel-pool';
import { isSentinelUrl } from '../sentinel/sentinel-url';
import { ConnectionPool } from '../pool/connection-pool';
import { isFatal } from '../pool/connection-supervisor';
import type { PoolOptions } from '../pool/pool-options';
import type { RedisPool } from '../pool/redis-pool.interface';
import {
  DEFAULT_STARTUP_TIMEOUT_MS,
  REDIS_POOL_LOGGER_CONTEXT,
  STARTUP_RETRY_DELAY_MS,
} from './redis.constants';
import type { RedisPoolFactoryOptions, RedisPoolModuleOptions } from './redis-pool.interfaces';
import { checkModuleOptions, withPoolName } from './redis-pool.checks';
import { revealOptions } from './redis-pool.options';
import { pingWithin, reasonOf } from './redis-ping';
import { describeTarget } from './redis-target';
import { instrumentPool } from './redis-pool.instrumentation';

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
    instrumentation: _instrumentation,
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
  const poolOptions: PoolOptions = { ...toPoolOptions(revealOptions(options)), name };
  const { cluster, sentinel } = revealOptions(options);
  const pool: RedisPool = withPoolName(name, () =>
    sentinel !== undefined
      ? new SentinelPool({ ...poolOptions, ...sentinel })
      : isSentinelUrl(poolOptions.url)
        ? SentinelPool.fromUrl(poolOptions.url, withoutUrl(poolOptions))
        : cluster !== undefined
          ? new ClusterPool({ ...poolOptions, ...cluster })
          : new ConnectionPool(poolOptions),
  );
  instrumentPool(name, pool, revealOptions(options).instrumentation);
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
      // Wrong credentials, an ACL denial or a TLS verification failure will not fix themselves while we wait.
      if (error instanceof Error && isFatal(error)) break;
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
  const fatal = lastError instanceof Error && isFatal(lastError);
  const why =
    lastError instanceof AuthenticationError
      ? 'refused the credentials'
      : fatal
        ? 'refused the connection'
        : `did not answer PING within ${timeoutMs} ms`;
  const last = lastError === undefined ? '' : ` Last error: ${reasonOf(lastError)}.`;
  const todo = fatal ? 'Fix the configuration' : 'Start Redis, fix the URL';
  throw new ConnectionError(
    `Redis pool "${name}" is not ready: ${target} ${why} (startup: 'wait').${last} ` +
      `${todo}, or use startup: 'lazy' to boot without it.`,
    { cause: lastError },
  );
}
