import { ClusterError } from '../errors/redis-pool.errors';
import type { RedisReply } from '../protocol/resp.types';
import { SLOT_COUNT } from './hash-slot';

/** Where a cluster node listens. */
export interface NodeAddress {
  host: string;
  port: number;
}

/** One shard as the cluster describes it: the slot ranges it serves, its master and its usable replicas. */
export interface ShardLayout {
  /** Inclusive `[first, last]` slot ranges. */
  ranges: Array<[number, number]>;
  master: NodeAddress;
  /** Replicas not reported failed. */
  replicas: NodeAddress[];
}

/** `host:port`, the key of a node everywhere in the cluster pool. */
export function nodeKey(address: NodeAddress): string {
  return `${address.host}:${address.port}`;
}

/**
 * Reads a `CLUSTER SHARDS` reply (Redis 7+), in its RESP2 (flat field lists) or RESP3 (maps) shape. Nodes with a
 * missing or malformed address are skipped; a node announcing no endpoint (`''` or `'?'`) is reached at
 * `askedHost`, the host that answered. `tls` picks `tls-port` over `port`.
 * @throws ClusterError when the reply is not a list of shards.
 */
export function parseClusterShards(
  reply: RedisReply,
  askedHost: string,
  tls: boolean,
): ShardLayout[] {
  if (!Array.isArray(reply)) throw malformed('CLUSTER SHARDS');
  const shards: ShardLayout[] = [];
  for (const entry of reply) {
    const shard = fieldsOf(entry);
    const ranges = rangesFrom(shard.get('slots'));
    const nodes = shard.get('nodes');
    if (ranges.length === 0 || !Array.isArray(nodes)) continue;
    let master: NodeAddress | undefined;
    let masterOnline = false;
    const replicas: NodeAddress[] = [];
    for (const item of nodes) {
      const node = fieldsOf(item);
      const address = addressFrom(
        node.get('endpoint') ?? node.get('ip'),
        tls ? (node.get('tls-port') ?? node.get('port')) : node.get('port'),
        askedHost,
      );
      if (address === undefined) continue;
      // Redis 7.0 reports a replica whose replication offset is still 0 (nothing written yet) as 'loading', so
      // only 'fail' rules a node out; a replica that really is loading answers LOADING, which the pool retries.
      const online = node.get('health') !== 'fail';
      if (node.get('role') === 'master') {
        if (master === undefined || (online && !masterOnline)) {
          master = address;
          masterOnline = online;
        }
      } else if (online) {
        replicas.push(address);
      }
    }
    if (master !== undefined) shards.push({ ranges, master, replicas });
  }
  return shards;
}

/**
 * Reads a `CLUSTER SLOTS` reply (every version since 3.0): one entry per slot range, master first, then
 * replicas. Ranges served by the same master are gathered into one shard.
 * @throws ClusterError when the reply is not a list of ranges.
 */
export function parseClusterSlots(reply: RedisReply, askedHost: string): ShardLayout[] {
  if (!Array.isArray(reply)) throw malformed('CLUSTER SLOTS');
  const byMaster = new Map<string, ShardLayout>();
  for (const entry of reply) {
    if (!Array.isArray(entry) || entry.length < 3) continue;
    const range = rangeOf(entry[0], entry[1]);
    const [masterEntry, ...replicaEntries] = entry.slice(2);
    const master = Array.isArray(masterEntry)
      ? addressFrom(masterEntry[0], masterEntry[1], askedHost)
      : undefined;
    if (range === undefined || master === undefined) continue;
    const key = nodeKey(master);
    let shard = byMaster.get(key);
    if (shard === undefined) {
      const replicas: NodeAddress[] = [];
      for (const item of replicaEntries) {
        const replica = Array.isArray(item) ? addressFrom(item[0], item[1], askedHost) : undefined;
        if (replica !== undefined) replicas.push(replica);
      }
      shard = { ranges: [], master, replicas };
      byMaster.set(key, shard);
    }
    shard.ranges.push(range);
  }
  return [...byMaster.values()];
}

/** Field lookup over a RESP3 map or a RESP2 flat `[name, value, ...]` list, in a Map so no name is special. */
function fieldsOf(value: RedisReply): Map<string, RedisReply> {
  const fields = new Map<string, RedisReply>();
  if (Array.isArray(value)) {
    for (let i = 0; i + 1 < value.length; i += 2) {
      const name = value[i];
      if (typeof name === 'string') fields.set(name, value[i + 1]);
    }
  } else if (value !== null && typeof value === 'object' && !(value instanceof Error)) {
    if (!Buffer.isBuffer(value)) {
      for (const name of Object.keys(value)) fields.set(name, value[name]);
    }
  }
  return fields;
}

/** `[start, end, start, end...]` as ranges, dropping any pair that is not a valid range. */
function rangesFrom(value: RedisReply | undefined): Array<[number, number]> {
  const ranges: Array<[number, number]> = [];
  if (!Array.isArray(value)) return ranges;
  for (let i = 0; i + 1 < value.length; i += 2) {
    const range = rangeOf(value[i], value[i + 1]);
    if (range !== undefined) ranges.push(range);
  }
  return ranges;
}

function rangeOf(start: RedisReply, end: RedisReply): [number, number] | undefined {
  const first = Number(start);
  const last = Number(end);
  return isSlot(first) && isSlot(last) && first <= last ? [first, last] : undefined;
}

/** Whether `value` is a slot number, 0 to 16383. */
export function isSlot(value: number): boolean {
  return Number.isInteger(value) && value >= 0 && value < SLOT_COUNT;
}

/**
 * A node address from untrusted reply fields: a non-empty host without spaces or control characters and a
 * port from 1 to 65535. An empty or `'?'` host (the node does not know its own endpoint) means `askedHost`.
 */
export function addressFrom(
  host: RedisReply | undefined,
  port: RedisReply | undefined,
  askedHost: string,
): NodeAddress | undefined {
  const text = typeof host === 'string' ? host : Buffer.isBuffer(host) ? host.toString() : '';
  const number = typeof port === 'number' ? port : Number(port);
  if (!Number.isInteger(number) || number < 1 || number > 65535) return undefined;
  const resolved = text === '' || text === '?' ? askedHost : text;
  // eslint-disable-next-line no-control-regex
  if (resolved.length > 255 || /[\s\x00-\x1f/\\@]/.test(resolved)) return undefined;
  return { host: resolved, port: number };
}

function malformed(command: string): ClusterError {
  return new ClusterError(`Malformed ${command} reply: expected a list`);
}
