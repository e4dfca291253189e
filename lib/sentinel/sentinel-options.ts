import type { ConnectionOptions as TlsConnectionOptions } from 'node:tls';
import { POOL_DEFAULTS } from '../pool/pool-defaults';
import type { PoolOptions } from '../pool/pool-options';
import { configurationError } from '../pool/option-checks';
import { checkPoolOptions } from '../pool/pool-option-checks';
import { MAX_TIMER_MS } from '../utils/deadline';
import { natMapProblem, type NatMap } from '../utils/nat-map';

/** Where a sentinel or a data node listens. */
export interface SentinelAddress {
  host: string;
  port: number;
}

export { mapAddress, type NatMap } from '../utils/nat-map';

/** Where a `SentinelPool` sends read-only commands. */
export type SentinelReadFrom = 'master' | 'replica' | 'preferReplica';

/** Options of a `SentinelPool`: where the sentinels are, which master, and the options of its pool. */
export interface SentinelPoolOptions extends Omit<PoolOptions, 'url' | 'host' | 'port' | 'path'> {
  /** Seed sentinels: any one that answers is enough; the list refreshes itself from SENTINEL SENTINELS. */
  sentinels: SentinelAddress[];
  /** The master's name in the sentinels' configuration (`sentinel monitor <name> ...`). */
  masterName: string;
  /** The sentinels' own password (their `requirepass`), separate from the data nodes' `password`. */
  sentinelPassword?: string;
  /** The sentinels' own ACL user. */
  sentinelUsername?: string;
  /**
   * TLS to the sentinels: `true` or Node's TLS options; separate from the data nodes' `tls`.
   * @default undefined (plain TCP)
   */
  sentinelTls?: boolean | TlsConnectionOptions;
  /** Maps announced addresses to reachable ones. */
  natMap?: NatMap;
  /**
   * Where read-only commands go: `'master'`; `'replica'`, the healthy replicas the sentinels list (a read fails
   * typed when none is up); or `'preferReplica'`, the replicas, falling back to the master when none is up.
   * Replicas replicate asynchronously: a read there may not see a write just acknowledged by the master.
   * Leases and transactions always use the master.
   * @default 'master'
   */
  readFrom?: SentinelReadFrom;
  /**
   * Once the sentinels start promoting a replica, commands wait for the new master (the old one would accept
   * writes that the failover then loses) at most this long, and never past their own deadline.
   * @default 5000
   */
  failoverPauseMs?: number;
  /**
   * How often the sentinels are asked where the master is, besides their `+switch-master` event and errors on
   * the data path; `0` disables the periodic check.
   * @default 5000
   */
  recheckIntervalMs?: number;
}

/** Sentinel options checked, with defaults applied. */
export interface ResolvedSentinelOptions {
  sentinels: SentinelAddress[];
  masterName: string;
  readFrom: SentinelReadFrom;
  recheckIntervalMs: number;
  commandTimeoutMs: number;
  /** Deadline of each question to a sentinel, and of the ROLE check of a master. */
  queryTimeoutMs: number;
  drainTimeoutMs: number;
  backoff: { baseDelayMs: number; maxDelayMs: number };
  /** Longest time commands wait for the new master once a failover has started. */
  maxPauseMs: number;
}

/** The keys of a `SentinelPool`'s own options (besides the pool options of its data nodes). */
const SENTINEL_OPTION_KEYS = [
  'sentinels',
  'masterName',
  'sentinelPassword',
  'sentinelUsername',
  'sentinelTls',
  'natMap',
  'readFrom',
  'recheckIntervalMs',
  'failoverPauseMs',
] as const satisfies ReadonlyArray<keyof SentinelPoolOptions>;

/** The defaults of the sentinel's own options. */
export const SENTINEL_DEFAULTS = {
  recheckIntervalMs: 5000,
  failoverPauseMs: 5000,
  readFrom: 'master' as SentinelReadFrom,
} as const;

const READ_FROM: readonly SentinelReadFrom[] = ['master', 'replica', 'preferReplica'];

function isAddress(value: unknown): value is SentinelAddress {
  const address = value as SentinelAddress;
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof address.host === 'string' &&
    address.host !== '' &&
    Number.isInteger(address.port) &&
    address.port > 0 &&
    address.port < 65536
  );
}

/**
 * Checks the options and splits them: the sentinel settings, what the sentinel connections get, and what every
 * master pool gets (the data nodes' credentials).
 * @throws ConfigurationError naming the bad option.
 */
export function resolveSentinelOptions(options: SentinelPoolOptions): {
  settings: ResolvedSentinelOptions;
  sentinelAuth: { username?: string; password?: string; tls?: boolean | TlsConnectionOptions };
  natMap: NatMap | undefined;
  node: PoolOptions;
} {
  const {
    sentinels,
    masterName,
    sentinelPassword,
    sentinelUsername,
    sentinelTls,
    natMap,
    readFrom,
    recheckIntervalMs,
    failoverPauseMs,
    ...node
  } = options;
  checkPoolOptions(options, SENTINEL_OPTION_KEYS);
  if (!Array.isArray(sentinels) || sentinels.length === 0 || !sentinels.every(isAddress)) {
    throw configurationError(
      options.name,
      'option sentinel.sentinels must list at least one { host, port } (port 1-65535)',
    );
  }
  if (typeof masterName !== 'string' || masterName === '') {
    throw configurationError(options.name, 'option sentinel.masterName must be a non-empty string');
  }
  const recheck = recheckIntervalMs ?? SENTINEL_DEFAULTS.recheckIntervalMs;
  if (!Number.isInteger(recheck) || recheck < 0 || recheck > MAX_TIMER_MS) {
    throw configurationError(
      options.name,
      `option sentinel.recheckIntervalMs must be an integer from 0 to ${MAX_TIMER_MS}`,
    );
  }
  const pause = failoverPauseMs ?? SENTINEL_DEFAULTS.failoverPauseMs;
  if (!Number.isInteger(pause) || pause < 0 || pause > MAX_TIMER_MS) {
    throw configurationError(
      options.name,
      `option sentinel.failoverPauseMs must be an integer from 0 to ${MAX_TIMER_MS}`,
    );
  }
  if (readFrom !== undefined && !READ_FROM.includes(readFrom)) {
    throw configurationError(
      options.name,
      "option sentinel.readFrom must be 'master', 'replica' or 'preferReplica'",
    );
  }
  const natProblem = natMapProblem(natMap);
  if (natProblem !== undefined) {
    throw configurationError(options.name, `option sentinel.natMap ${natProblem}`);
  }
  return {
    settings: {
      sentinels: sentinels.map(({ host, port }) => ({ host, port })),
      masterName,
      readFrom: readFrom ?? SENTINEL_DEFAULTS.readFrom,
      recheckIntervalMs: recheck,
      commandTimeoutMs: node.commandTimeoutMs ?? POOL_DEFAULTS.commandTimeoutMs,
      queryTimeoutMs: node.connectTimeoutMs ?? POOL_DEFAULTS.connectTimeoutMs,
      drainTimeoutMs: node.drainTimeoutMs ?? POOL_DEFAULTS.drainTimeoutMs,
      backoff: {
        baseDelayMs: node.retry?.baseDelayMs ?? POOL_DEFAULTS.retry.baseDelayMs,
        maxDelayMs: node.retry?.maxDelayMs ?? POOL_DEFAULTS.retry.maxDelayMs,
      },
      maxPauseMs: pause,
    },
    sentinelAuth: { username: sentinelUsername, password: sentinelPassword, tls: sentinelTls },
    natMap,
    node,
  };
}

/** What the `'failover'` event carries. */
export interface FailoverEvent {
  /** `host:port` of the master given up. */
  from: string;
  /** `host:port` of the master now in use. */
  to: string;
}
