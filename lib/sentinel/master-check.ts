import { ConnectionError } from '../errors/redis-pool.errors';
import type { RedisReply } from '../protocol/resp.types';
import { ConnectionPool } from '../pool/connection-pool';
import type { PoolOptions } from '../pool/pool-options';
import { addressKey } from './sentinel-client';
import type { ResolvedSentinelOptions, SentinelAddress } from './sentinel-options';

/**
 * Checks with ROLE, on a connection of its own, that the node the sentinels named is a master: a replica is
 * never used as one.
 * @throws ConnectionError when it is not a master, or the node's own error when it cannot be asked.
 */
export async function verifyMaster(
  node: PoolOptions,
  address: SentinelAddress,
  settings: Pick<ResolvedSentinelOptions, 'masterName' | 'queryTimeoutMs'>,
): Promise<void> {
  const probe = new ConnectionPool({
    ...node,
    host: address.host,
    port: address.port,
    maxConnections: 1,
    minIdle: 0,
    retry: { attempts: 0 },
  });
  try {
    const role = await probe.execute<RedisReply[]>('ROLE', [], {
      timeoutMs: settings.queryTimeoutMs,
    });
    if (!Array.isArray(role) || String(role[0]) !== 'master') {
      const actual = String(Array.isArray(role) ? role[0] : role);
      throw new ConnectionError(
        `The sentinels named ${addressKey(address)} as master "${settings.masterName}", but it is a ${actual}`,
      );
    }
  } finally {
    await probe.disconnect({ drainTimeoutMs: 0 });
  }
}
