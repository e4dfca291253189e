import { ConnectionPool } from '../../lib/pool/connection-pool';
import type { RedisReply } from '../../lib/protocol/resp.types';
import { respEncode } from '../harness';

/** Any reply as RESP2 frames (strings as bulk strings), to replay what a real server answered. */
export function encode(value: RedisReply): string {
  if (value === null) return respEncode.bulk(null);
  if (typeof value === 'number' || typeof value === 'bigint') return respEncode.integer(value);
  if (Array.isArray(value)) return respEncode.array(value.map(encode));
  return respEncode.bulk(String(value));
}

/** A real server's COMMAND reply, encoded: a fake cluster node needs it for the pool's command table. */
export async function commandReplyOf(port: number): Promise<string> {
  const real = new ConnectionPool({ port });
  try {
    return encode(await real.executeCommand('COMMAND'));
  } finally {
    await real.disconnect();
  }
}

/** One `CLUSTER SHARDS` node entry (RESP2 field list). */
export function shardNode(address: { host: string; port: number }, role: string): string {
  return encode([
    ...['id', 'x'.repeat(40), 'port', address.port, 'ip', address.host],
    ...['endpoint', address.host, 'role', role, 'replication-offset', 0, 'health', 'online'],
  ]);
}

/** A `CLUSTER SHARDS` reply of one shard serving every slot. */
export function oneShardReply(nodes: string[]): string {
  return respEncode.array([
    respEncode.array([
      encode('slots'),
      encode([0, 16383]),
      encode('nodes'),
      respEncode.array(nodes),
    ]),
  ]);
}
