import { checkUrlGiven, configurationError, describeValue } from '../pool/option-checks';
import { POOL_DEFAULTS } from '../pool/pool-defaults';
import { checkPoolOptions } from '../pool/pool-option-checks';
import type { PoolOptions } from '../pool/pool-options';
import { parseRedisUrl } from '../pool/redis-url';
import { natMapProblem, type NatMap } from '../utils/nat-map';
import { AddressPolicy } from './address-policy';
import { addressFrom, type NodeAddress } from './cluster-topology';

/** Where a `ClusterPool` sends read-only commands. */
export type ClusterReadFrom = 'master' | 'replica' | 'preferReplica';

/** Every cluster default in one place; the `@default` of each option below states the same value. */
export const CLUSTER_DEFAULTS = {
  readFrom: 'master' as ClusterReadFrom,
  stallTimeoutMs: 1000,
  maxRedirections: 16,
  refreshIntervalMs: 30_000,
  refreshMinIntervalMs: 250,
  splitAcrossSlots: false,
} as const;

/** Options of a `ClusterPool`: where to start, how to route, and the options of every node's pool. */
export interface ClusterPoolOptions extends Omit<
  PoolOptions,
  'url' | 'host' | 'port' | 'path' | 'db' | 'readOnly'
> {
  /** Seed nodes: any one that answers is enough to discover the whole cluster. */
  nodes: NodeAddress[];
  /**
   * Where read-only commands go: `'master'`; `'replica'`, a random healthy replica of the slot's shard (sent
   * READONLY on connect; the read fails with `ClusterError` when the shard has none: not listed as failed, its
   * pool not down, not stalled); or `'preferReplica'`, a healthy replica, else the shard's master. Replicas
   * replicate asynchronously: a read there may not see a write just acknowledged by the master.
   * @default 'master'
   */
  readFrom?: ClusterReadFrom;
  /**
   * A node whose connections have awaited replies this long without a byte from it (frozen, or behind a network
   * that drops packets) gets no new command: commands for its slots wait, within their deadline, for a topology
   * refresh to name its successor, as they do when a master refuses connections. Commands already written to it
   * are not sent again unless read-only. 0 turns the check off.
   * @default 1000
   */
  stallTimeoutMs?: number;
  /**
   * Maps the addresses the cluster announces (CLUSTER SHARDS / SLOTS, MOVED, ASK) to where this process reaches
   * them: `{ 'host:port': { host, port } }` or a function (returning `undefined` keeps the address). For NAT,
   * Docker and port forwarding. A mapped address is always allowed (see `allowedHosts`).
   * @default undefined (addresses used as announced)
   */
  natMap?: NatMap;
  /**
   * Where else, besides the seeds' networks, announced addresses may point: host names, IP addresses, CIDR ranges
   * (`'10.0.0.0/8'`), domain suffixes (`'.example.com'`) or `'*'` for anywhere. An address outside them (and not
   * in `natMap`) is refused with `ClusterAddressError` before any connection, so credentials never reach it. The
   * seeds' networks: the /24 of an IPv4 seed, the /64 of an IPv6 one, every loopback address for a loopback seed,
   * and a host-name seed itself and its siblings (`redis-1.prod.example.com` allows `*.prod.example.com`).
   * @default [] (the seeds' networks only)
   */
  allowedHosts?: string[];
  /**
   * MOVED and ASK replies followed for one command before it fails with `ClusterError`.
   * @default 16
   */
  maxRedirections?: number;
  /**
   * Period of the background topology refresh, in milliseconds; 0 refreshes only on redirections and errors.
   * @default 30000
   */
  refreshIntervalMs?: number;
  /**
   * Least time between two refreshes triggered by redirections or connection errors (they are coalesced).
   * @default 250
   */
  refreshMinIntervalMs?: number;
  /**
   * MSET whose keys hash to different slots is split into one MSET per slot, atomic only per slot, instead of
   * being refused with `ClusterError`; a call can also opt in alone (`withOptions({ splitAcrossSlots: true })`).
   * MGET, DEL, UNLINK, EXISTS and TOUCH are always split; MSETNX, transactions, WATCH and scripts never are.
   * @default false
   */
  splitAcrossSlots?: boolean;
}

/** Cluster options checked, with defaults applied. */
export interface ResolvedClusterOptions {
  seeds: NodeAddress[];
  readFrom: ClusterReadFrom;
  stallTimeoutMs: number;
  /** Checks and maps every node address learned from the network (`natMap`, `allowedHosts`). */
  addresses: AddressPolicy;
  maxRedirections: number;
  refreshIntervalMs: number;
  refreshMinIntervalMs: number;
  splitAcrossSlots: boolean;
  /** The nodes' `commandTimeoutMs`: one deadline per command, across redirections and retries. */
  commandTimeoutMs: number;
  /** The nodes' `connectTimeoutMs`: the limit of each topology query (CLUSTER SHARDS, COMMAND). */
  queryTimeoutMs: number;
  /** The nodes' retry backoff, which also paces retries of failovers, TRYAGAIN and CLUSTERDOWN. */
  backoff: { baseDelayMs: number; maxDelayMs: number };
  /** Whether the nodes are reached over TLS (announced addresses are then the TLS ports). */
  nodeTls: boolean;
  /** What every node's `ConnectionPool` gets, besides its host and port (credentials included). */
  node: PoolOptions;
}

/** The cluster settings without the node options: what routing and refreshing need, and no credential. */
export type ClusterSettings = Omit<ResolvedClusterOptions, 'node'>;

/** The cluster's own option keys, besides the node options (`PoolOptions`). */
export const CLUSTER_OPTION_KEYS = [
  'nodes',
  'readFrom',
  'maxRedirections',
  'refreshIntervalMs',
  'refreshMinIntervalMs',
  'splitAcrossSlots',
  'stallTimeoutMs',
  'natMap',
  'allowedHosts',
] as const;

/** Pool options a cluster sets itself for each node, or that cannot apply to a cluster. */
const NOT_FOR_CLUSTER = ['url', 'host', 'port', 'path', 'readOnly'] as const;

/**
 * Checks the options (the node options too, as `ConnectionPool` would: node pools are opened later, when the
 * topology is known) and applies defaults.
 * @throws ConfigurationError naming the pool and the bad option.
 */
export function resolveClusterOptions(options: ClusterPoolOptions): ResolvedClusterOptions {
  checkPoolOptions(options, CLUSTER_OPTION_KEYS);
  const {
    nodes,
    readFrom,
    maxRedirections,
    refreshIntervalMs,
    refreshMinIntervalMs,
    splitAcrossSlots,
    stallTimeoutMs,
    natMap,
    allowedHosts,
    ...node
  } = options as ClusterPoolOptions & { db?: number; url?: string };
  const fail = (text: string): never => {
    throw configurationError(options.name, text);
  };
  const misplaced = NOT_FOR_CLUSTER.filter(
    (key) => (node as Record<string, unknown>)[key] !== undefined,
  );
  if (misplaced.length > 0) {
    fail(`a cluster pool takes no ${misplaced.join(', ')}: list the seed nodes in nodes`);
  }
  if (!Array.isArray(nodes) || nodes.length === 0) {
    fail('option cluster.nodes must list at least one { host, port }');
  }
  const seeds = nodes.map((seed, index) => {
    const address = addressFrom(seed?.host, seed?.port, '');
    if (address === undefined || address.host === '') {
      fail(`option cluster.nodes[${index}] must be { host, port }`);
    }
    return address as NodeAddress;
  });
  if (readFrom !== undefined && !['master', 'replica', 'preferReplica'].includes(readFrom)) {
    fail(
      `option ${describeValue('readFrom', readFrom)} must be 'master', 'replica' or 'preferReplica'`,
    );
  }
  const natProblem = natMapProblem(natMap);
  if (natProblem !== undefined) fail(`option cluster.natMap ${natProblem}`);
  const hostsProblem = AddressPolicy.problem(allowedHosts);
  if (hostsProblem !== undefined) fail(`option cluster.allowedHosts ${hostsProblem}`);
  for (const [name, value] of Object.entries({
    maxRedirections,
    refreshIntervalMs,
    refreshMinIntervalMs,
    stallTimeoutMs,
  })) {
    if (value !== undefined && !(Number.isInteger(value) && value >= 0)) {
      fail(`option ${describeValue(name, value)} must be a non-negative integer`);
    }
  }
  if (splitAcrossSlots !== undefined && typeof splitAcrossSlots !== 'boolean') {
    fail(`option ${describeValue('splitAcrossSlots', splitAcrossSlots)} must be a boolean`);
  }
  if ((node as { db?: number }).db !== undefined && (node as { db?: number }).db !== 0) {
    fail('Redis Cluster has only database 0');
  }
  return {
    seeds,
    readFrom: readFrom ?? CLUSTER_DEFAULTS.readFrom,
    stallTimeoutMs: stallTimeoutMs ?? CLUSTER_DEFAULTS.stallTimeoutMs,
    addresses: new AddressPolicy(seeds, allowedHosts ?? [], natMap),
    maxRedirections: maxRedirections ?? CLUSTER_DEFAULTS.maxRedirections,
    refreshIntervalMs: refreshIntervalMs ?? CLUSTER_DEFAULTS.refreshIntervalMs,
    refreshMinIntervalMs: refreshMinIntervalMs ?? CLUSTER_DEFAULTS.refreshMinIntervalMs,
    splitAcrossSlots: splitAcrossSlots ?? CLUSTER_DEFAULTS.splitAcrossSlots,
    commandTimeoutMs: node.commandTimeoutMs ?? POOL_DEFAULTS.commandTimeoutMs,
    queryTimeoutMs: node.connectTimeoutMs ?? POOL_DEFAULTS.connectTimeoutMs,
    backoff: {
      baseDelayMs: node.retry?.baseDelayMs ?? POOL_DEFAULTS.retry.baseDelayMs,
      maxDelayMs: node.retry?.maxDelayMs ?? POOL_DEFAULTS.retry.maxDelayMs,
    },
    nodeTls: node.tls !== undefined && node.tls !== false,
    node: { ...node, readOnly: readFrom !== undefined && readFrom !== 'master' },
  };
}

/**
 * Cluster options from seed URLs (`redis://[user:pass@]host:port`, `rediss://...`): every URL gives a seed; the
 * credentials, TLS and protocol of the first apply to every node. Explicit `options` win.
 * @throws ConfigurationError for a bad URL (password masked), a unix socket or a database other than 0.
 */
export function clusterOptionsFromUrls(
  urls: readonly string[],
  options: Partial<ClusterPoolOptions> = {},
): ClusterPoolOptions {
  const pool = options.name ?? 'default';
  if (!Array.isArray(urls) || urls.length === 0) {
    throw configurationError(pool, 'ClusterPool.fromUrls() needs at least one seed URL');
  }
  const parsed = urls.map((url) => {
    checkUrlGiven(url, pool, 'ClusterPool.fromUrls()');
    return parseRedisUrl(url, pool);
  });
  const nodes = parsed.map((entry) => {
    if (entry.path !== undefined) {
      throw configurationError(pool, 'Redis Cluster nodes are reached over TCP, not unix sockets');
    }
    return { host: entry.host ?? POOL_DEFAULTS.host, port: entry.port ?? POOL_DEFAULTS.port };
  });
  const { host: _host, port: _port, path: _path, url: _url, ...shared } = parsed[0];
  return { ...shared, ...options, nodes: options.nodes ?? nodes } as ClusterPoolOptions;
}
