import { randomUUID } from 'node:crypto';
import { RedisService } from '../../lib/client/redis.service';
import { ConnectionPool } from '../../lib/pool/connection-pool';
import type { PoolOptions } from '../../lib/pool/pool-options';
import type { RedisServerHandle } from '../harness';

/** Both protocols, for `describe.each`. */
export const PROTOCOLS = [2, 3] as const;

/** A service on a fresh pool to `server`; `close()` disconnects the pool. */
export function openService(
  server: RedisServerHandle,
  protocol: 2 | 3,
  options: PoolOptions = {},
): RedisService {
  const pool = new ConnectionPool({
    host: server.host,
    port: server.port,
    protocol,
    connectTimeoutMs: 1000,
    retry: { attempts: 3, baseDelayMs: 20, maxDelayMs: 200 },
    ...options,
  });
  return new RedisService(pool);
}

/**
 * Registers a service per test in a describe: opened in `beforeEach`, its pool disconnected in `afterEach`, so
 * nothing stays open.
 */
export function useService(
  server: () => RedisServerHandle,
  protocol: 2 | 3,
  options: PoolOptions = {},
): () => RedisService {
  let redis: RedisService | undefined;
  beforeEach(() => {
    redis = openService(server(), protocol, options);
  });
  afterEach(async () => {
    await redis?.pool.disconnect();
    redis = undefined;
  });
  return () => {
    if (redis === undefined) throw new Error('useService: only inside tests');
    return redis;
  };
}

/** A key unique to this test run, with an optional readable prefix. */
export function key(prefix = 'k'): string {
  return `${prefix}:${randomUUID().slice(0, 8)}`;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `check` until it returns true, failing after `withinMs`. */
export async function waitFor(
  check: () => boolean | Promise<boolean>,
  withinMs = 5000,
  what = 'condition',
): Promise<void> {
  const deadline = Date.now() + withinMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await sleep(10);
  }
}

/** The rejection of `promise` (fails when it resolves). */
export async function rejectionOf(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('Expected a rejection');
}
