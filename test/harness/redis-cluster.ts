import { spawn } from 'node:child_process';

import { getFreePorts } from './free-port';
import { startRedisServer, type RedisServerHandle } from './redis-server';

/** How to build a harness Redis Cluster. */
export interface RedisClusterOptions {
  /** Number of masters; `redis-cli --cluster create` needs at least 3. Default 3. */
  masters?: number;
  /** Replicas attached to each master. Default 1. */
  replicasPerMaster?: number;
  /** `cluster-node-timeout` in ms; small so failure detection and failovers are quick. Default 1000. */
  nodeTimeoutMs?: number;
  /** Extra redis.conf lines for every node, appended after the cluster defaults so they win. */
  extraConfig?: string[];
  /**
   * Every node also listens on a TLS port (certs from `generateTlsCerts()`), and the cluster bus and replication
   * run over TLS (`tls-cluster yes`, `tls-replication yes`): nodes then announce their TLS ports to TLS clients.
   * The plain ports stay open for the harness's own `redis-cli` queries. Default false.
   */
  tls?: boolean;
}

/** Options of {@link RedisClusterHandle.migrateSlot}. */
export interface MigrateSlotOptions {
  /** Keys moved per `MIGRATE` call. Default 10. */
  batchSize?: number;
  /** Pause after every batch, so a test can observe the slot while it is half migrated (ASK). */
  pauseBetweenKeysMs?: number;
  /** Runs once every key was moved but before `SETSLOT NODE` closes the migration. */
  beforeFinalize?: () => Promise<void>;
  /** Bound on waiting for every node to agree on the new owner. Default 20 s. */
  timeoutMs?: number;
}

/** `CLUSTER FAILOVER` flavour: `default` is the coordinated manual failover. */
export type FailoverMode = 'default' | 'force' | 'takeover';

/** What a node says it is (`ROLE`); `replica` only counts once its replication link is up. */
export type ClusterRole = 'master' | 'replica';

/** One line of `CLUSTER NODES`, as seen by one node. */
export interface ClusterNodeEntry {
  /** 40-hex-digit node id. */
  id: string;
  /** Announced IP; empty for a node that never met another. */
  host: string;
  /** Client port (not the cluster bus port). */
  port: number;
  /** E.g. `['myself', 'master']`, `['slave']`, `['master', 'fail']`. */
  flags: string[];
  /** Id of the master this node replicates, `undefined` for masters. */
  masterId: string | undefined;
  /** `connected` or `disconnected`. */
  linkState: string;
  /** Owned slot ranges, inclusive. */
  slots: [number, number][];
  /** Slots this node is migrating away, by destination node id. */
  migrating: Map<number, string>;
  /** Slots this node is importing, by source node id. */
  importing: Map<number, string>;
}

/** One range of `CLUSTER SLOTS`: inclusive bounds and the port of the master serving it. */
interface SlotRange {
  start: number;
  end: number;
  masterPort: number;
}

interface RoleInfo {
  role: 'master' | 'slave' | 'sentinel';
  /** Replicas only: port of their master. */
  masterPort?: number;
  /** Replicas only: `connected` once the initial sync finished. */
  linkState?: string;
}

/** Number of hash slots of every Redis Cluster. */
export const CLUSTER_SLOT_COUNT = 16384;

const DEFAULT_MASTERS = 3;
const DEFAULT_REPLICAS_PER_MASTER = 1;
const DEFAULT_NODE_TIMEOUT_MS = 1000;
const DEFAULT_WAIT_MS = 20_000;
const CREATE_TIMEOUT_MS = 30_000;
const POLL_MS = 100;
const MIGRATE_BATCH = 10;
const MIGRATE_TIMEOUT_MS = 5_000;
const NODE_START_ATTEMPTS = 4;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Polls `probe` until it returns `undefined` (done), or throws after `timeoutMs` quoting the
 * last reason it gave. A probe that throws counts as "not yet": nodes come and go in these tests.
 */
async function waitUntil(
  what: string,
  timeoutMs: number,
  probe: () => Promise<string | undefined>,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let lastReason: string;
    try {
      const reason = await probe();
      if (reason === undefined) return;
      lastReason = reason;
    } catch (error) {
      lastReason = messageOf(error);
    }
    if (Date.now() >= deadline) {
      throw new Error(`${what}: not reached within ${timeoutMs} ms (last seen: ${lastReason})`);
    }
    await sleep(POLL_MS);
  }
}

/** Runs a command through `redis-cli --json` and parses the reply; error replies throw. */
async function jsonCommand(node: RedisServerHandle, ...args: string[]): Promise<unknown> {
  const output = await node.cli('--json', ...args);
  if (output.startsWith('error:')) {
    throw new Error(`${args.join(' ')} on port ${node.port}: ${output.slice('error:'.length)}`);
  }
  return JSON.parse(output) as unknown;
}

/** Runs a command that must answer `OK`. */
async function okCommand(node: RedisServerHandle, ...args: string[]): Promise<void> {
  const reply = await jsonCommand(node, ...args);
  if (reply !== 'OK') {
    throw new Error(`${args.join(' ')} on port ${node.port} answered ${JSON.stringify(reply)}`);
  }
}

/** Parses `key:value` lines of `INFO` / `CLUSTER INFO`. */
function parseInfo(text: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon > 0 && !line.startsWith('#')) fields.set(line.slice(0, colon), line.slice(colon + 1));
  }
  return fields;
}

/** Parses `host:port@cport[,hostname]`. */
function parseAddress(address: string): { host: string; port: number } {
  const hostPort = address.split('@')[0]!;
  const colon = hostPort.lastIndexOf(':');
  return { host: hostPort.slice(0, colon), port: Number(hostPort.slice(colon + 1)) };
}

/** Parses the slot tokens of a `CLUSTER NODES` line into `entry`. */
function parseSlotTokens(tokens: string[], entry: ClusterNodeEntry): void {
  for (const token of tokens) {
    const open = /^\[(\d+)-([<>])-([0-9a-f]+)\]$/.exec(token);
    if (open) {
      const target = open[2] === '>' ? entry.migrating : entry.importing;
      target.set(Number(open[1]), open[3]!);
      continue;
    }
    const [start, end = start] = token.split('-');
    entry.slots.push([Number(start), Number(end)]);
  }
}

/** Parses the reply of `CLUSTER NODES`. */
export function parseClusterNodes(text: string): ClusterNodeEntry[] {
  return text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line.length > 0)
    .map((line) => {
      const tokens = line.split(' ');
      const { host, port } = parseAddress(tokens[1]!);
      const entry: ClusterNodeEntry = {
        id: tokens[0]!,
        host,
        port,
        flags: tokens[2]!.split(','),
        masterId: tokens[3] === '-' ? undefined : tokens[3],
        linkState: tokens[7]!,
        slots: [],
        migrating: new Map(),
        importing: new Map(),
      };
      parseSlotTokens(tokens.slice(8), entry);
      return entry;
    });
}

/** Parses `CLUSTER SLOTS` (as JSON) into ranges sorted by their first slot. */
function parseClusterSlots(reply: unknown): SlotRange[] {
  if (!Array.isArray(reply)) throw new Error(`CLUSTER SLOTS: unexpected ${JSON.stringify(reply)}`);
  return reply
    .map((range: unknown): SlotRange => {
      const [start, end, master] = range as [number, number, [string, number, ...unknown[]]];
      return { start, end, masterPort: Number(master[1]) };
    })
    .sort((a, b) => a.start - b.start);
}

/** `undefined` when the ranges cover all slots exactly once, else what is wrong. */
function coverageProblem(ranges: SlotRange[]): string | undefined {
  let next = 0;
  for (const range of ranges) {
    if (range.start !== next) return `slots ${next}..${range.start - 1} not covered`;
    next = range.end + 1;
  }
  return next === CLUSTER_SLOT_COUNT ? undefined : `slots ${next}.. not covered`;
}

function describeRanges(ranges: SlotRange[]): string {
  return ranges.map((r) => `${r.start}-${r.end}@${r.masterPort}`).join(',');
}

function parseRole(reply: unknown): RoleInfo {
  const fields = reply as unknown[];
  const role = fields[0] as RoleInfo['role'];
  if (role !== 'slave') return { role };
  return { role, masterPort: Number(fields[2]), linkState: String(fields[3]) };
}

/** The redis.conf lines that turn a harness redis-server into a cluster node. */
function clusterConfig(clusterPort: number, options: RedisClusterOptions): string[] {
  return [
    'cluster-enabled yes',
    'cluster-config-file nodes.conf',
    // Explicit: the default (port + 10000) overflows 65535 for ephemeral ports.
    `cluster-port ${clusterPort}`,
    `cluster-node-timeout ${options.nodeTimeoutMs ?? DEFAULT_NODE_TIMEOUT_MS}`,
    'cluster-require-full-coverage yes',
    'cluster-allow-replica-migration no',
    // A replica may always take over, however long its master was gone.
    'cluster-replica-validity-factor 0',
    'appendonly no',
    'save ""',
    // Full syncs start at once instead of waiting 5 s for more replicas.
    'repl-diskless-sync-delay 0',
    ...(options.tls ? ['tls-cluster yes', 'tls-replication yes'] : []),
    ...(options.extraConfig ?? []),
  ];
}

/** Starts one node, retrying on fresh ports when the cluster bus port was taken meanwhile. */
async function startClusterNode(
  clusterPort: number,
  options: RedisClusterOptions,
): Promise<RedisServerHandle> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await startRedisServer({
        extraConfig: clusterConfig(clusterPort, options),
        ...(options.tls ? { tls: true } : {}),
      });
    } catch (error) {
      const portClash = /Address already in use/i.test(messageOf(error));
      if (!portClash || attempt >= NODE_START_ATTEMPTS) throw error;
      [clusterPort] = (await getFreePorts(1)) as [number];
    }
  }
}

/** Starts `count` nodes in parallel; on any failure the started ones are disposed. */
async function startClusterNodes(
  count: number,
  options: RedisClusterOptions,
): Promise<RedisServerHandle[]> {
  const clusterPorts = await getFreePorts(count);
  const results = await Promise.allSettled(
    clusterPorts.map((clusterPort) => startClusterNode(clusterPort, options)),
  );
  const nodes = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const failure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failure) {
    await Promise.all(nodes.map((node) => node.dispose()));
    throw failure.reason;
  }
  return nodes;
}

/** Runs `redis-cli --cluster create`, rejecting with its output when it fails or hangs. */
function runClusterCreate(nodes: RedisServerHandle[], replicasPerMaster: number): Promise<void> {
  const argv = [
    '--cluster',
    'create',
    ...nodes.map((node) => `${node.host}:${node.port}`),
    '--cluster-replicas',
    String(replicasPerMaster),
    '--cluster-yes',
  ];
  return new Promise((resolve, reject) => {
    const child = spawn('redis-cli', argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    let settled = false;
    const finish = (error?: Error): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (error) reject(error);
      else resolve();
    };
    const fail = (reason: string): void =>
      finish(new Error(`redis-cli ${argv.join(' ')} ${reason}\n--- output ---\n${output}`));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      fail(`timed out after ${CREATE_TIMEOUT_MS} ms`);
    }, CREATE_TIMEOUT_MS);
    const append = (chunk: Buffer): void => {
      output += chunk.toString('utf8');
    };
    child.stdout.on('data', append);
    child.stderr.on('data', append);
    child.once('error', (error) => fail(`failed to spawn: ${error.message}`));
    child.once('close', (code, signal) => {
      // redis-cli --cluster reports some refusals with exit code 0, hence the [OK] check.
      if (code === 0 && output.includes('[OK] All 16384 slots covered')) finish();
      else fail(`failed (code ${code}, signal ${signal})`);
    });
  });
}

/**
 * A Redis Cluster of harness redis-servers owned by one test file; built by
 * {@link startRedisCluster}.
 *
 * Nodes are ordinary {@link RedisServerHandle}s: kill, freeze or restart them directly. Their
 * `nodes.conf` survives restarts, so a restarted node rejoins with its old identity. Every
 * query below only talks to *live* nodes (running and not frozen).
 */
export class RedisClusterHandle {
  /** All nodes, in creation order; roles are whatever `redis-cli --cluster create` chose. */
  readonly nodes: RedisServerHandle[];

  readonly #ids = new Map<RedisServerHandle, string>();
  #disposing: Promise<void> | undefined;

  /** Prefer {@link startRedisCluster}; this only wraps already clustered nodes. */
  constructor(nodes: RedisServerHandle[]) {
    this.nodes = [...nodes];
  }

  /** Host/port of every node (dead ones too), for a cluster client's seed list. */
  seeds(): { host: string; port: number }[] {
    return this.nodes.map((node) => ({ host: node.host, port: node.port }));
  }

  /** Host/TLS port of every node, for a TLS cluster client's seed list (clusters started with `tls`). */
  tlsSeeds(): { host: string; port: number }[] {
    return this.nodes.map((node) => {
      if (node.tlsPort === undefined) throw new Error(`port ${node.port} has no TLS port`);
      return { host: node.host, port: node.tlsPort };
    });
  }

  /** Nodes that are running and not frozen, i.e. that answer commands. */
  liveNodes(): RedisServerHandle[] {
    return this.nodes.filter((node) => node.running && !node.frozen);
  }

  /** The node listening on `port` (plain or TLS); throws for ports outside this cluster. */
  nodeByPort(port: number): RedisServerHandle {
    const node = this.nodes.find(
      (candidate) => candidate.port === port || candidate.tlsPort === port,
    );
    if (!node) throw new Error(`no cluster node on port ${port}`);
    return node;
  }

  /** Live nodes whose `ROLE` is master (a restarted old master counts until it is demoted). */
  async masters(): Promise<RedisServerHandle[]> {
    return this.#liveWithRole('master');
  }

  /** Live nodes whose `ROLE` is replica. */
  async replicas(): Promise<RedisServerHandle[]> {
    return this.#liveWithRole('slave');
  }

  /** The node's cluster id (`CLUSTER MYID`); stable across restarts thanks to nodes.conf. */
  async nodeId(node: RedisServerHandle): Promise<string> {
    const known = this.#ids.get(node);
    if (known !== undefined) return known;
    const id = String(await jsonCommand(node, 'CLUSTER', 'MYID'));
    this.#ids.set(node, id);
    return id;
  }

  /** The master a replica follows, from its own `ROLE`; throws if `replica` is a master. */
  async masterOf(replica: RedisServerHandle): Promise<RedisServerHandle> {
    const role = parseRole(await jsonCommand(replica, 'ROLE'));
    if (role.masterPort === undefined) throw new Error(`port ${replica.port} is not a replica`);
    return this.nodeByPort(role.masterPort);
  }

  /** `CLUSTER NODES` as seen by `from` (default: the first live node), parsed. */
  async clusterNodes(from?: RedisServerHandle): Promise<ClusterNodeEntry[]> {
    const node = from ?? this.#anyLive();
    return parseClusterNodes(await node.cli('CLUSTER', 'NODES'));
  }

  /**
   * The master serving `slot` according to `CLUSTER SLOTS` of the first live node. Views can
   * differ for a moment after a topology change; call {@link waitForConvergence} first.
   */
  async ownerOf(slot: number): Promise<RedisServerHandle> {
    const ranges = await this.#slotRanges(this.#anyLive());
    const range = ranges.find((r) => r.start <= slot && slot <= r.end);
    if (!range) throw new Error(`slot ${slot} is not served by any node`);
    return this.nodeByPort(range.masterPort);
  }

  /** `CLUSTER KEYSLOT key`, asked of a live node. */
  async keySlot(key: string): Promise<number> {
    return Number(await jsonCommand(this.#anyLive(), 'CLUSTER', 'KEYSLOT', key));
  }

  /**
   * Resolves once every live node reports `cluster_state:<state>`. For `ok` every live node
   * must also see all 16384 slots assigned and healthy, each served by a live node, so right
   * after killing a master this waits for its replica's promotion.
   */
  async waitForState(state: 'ok' | 'fail', timeoutMs = DEFAULT_WAIT_MS): Promise<void> {
    await waitUntil(`cluster_state:${state}`, timeoutMs, async () => {
      return this.#firstProblem((node) => this.#stateProblem(node, state));
    });
  }

  /**
   * Resolves once every live node's `CLUSTER SLOTS` names the same master for every slot and
   * covers all 16384 slots.
   */
  async waitForConvergence(timeoutMs = DEFAULT_WAIT_MS): Promise<void> {
    await waitUntil('slot map convergence', timeoutMs, async () => {
      const views = await Promise.all(
        this.liveNodes().map(async (node) => ({ node, ranges: await this.#slotRanges(node) })),
      );
      const reference = describeRanges(views[0]?.ranges ?? []);
      for (const { node, ranges } of views) {
        const problem = coverageProblem(ranges);
        if (problem !== undefined) return `port ${node.port}: ${problem}`;
        if (describeRanges(ranges) !== reference) {
          return `port ${node.port} sees ${describeRanges(ranges)}, port ${views[0]!.node.port} sees ${reference}`;
        }
      }
      return undefined;
    });
  }

  /** Resolves once every live replica finished its sync (`master_link_status:up`). */
  async waitForReplicasSynced(timeoutMs = DEFAULT_WAIT_MS): Promise<void> {
    await waitUntil('replicas in sync', timeoutMs, async () => {
      return this.#firstProblem(async (node) => {
        const info = parseInfo(await node.cli('INFO', 'replication'));
        if (info.get('role') !== 'slave') return undefined;
        const link = info.get('master_link_status');
        const syncing = info.get('master_sync_in_progress');
        return link === 'up' && syncing === '0'
          ? undefined
          : `replica ${node.port}: master_link_status:${link} master_sync_in_progress:${syncing}`;
      });
    });
  }

  /** Resolves once `node` says it is a master, or a replica whose replication link is up. */
  async waitForRole(
    node: RedisServerHandle,
    role: ClusterRole,
    timeoutMs = DEFAULT_WAIT_MS,
  ): Promise<void> {
    await waitUntil(`port ${node.port} becomes ${role}`, timeoutMs, async () => {
      const seen = parseRole(await jsonCommand(node, 'ROLE'));
      if (role === 'master') return seen.role === 'master' ? undefined : `role ${seen.role}`;
      return seen.role === 'slave' && seen.linkState === 'connected'
        ? undefined
        : `role ${seen.role}, link ${seen.linkState ?? '-'}`;
    });
  }

  /**
   * Live-reshards `slot` to the master `to`, the way `redis-cli --cluster reshard` does:
   * IMPORTING on the target, MIGRATING on the source, `MIGRATE ... KEYS` in batches, then
   * `SETSLOT NODE` on target, source and every other master. Resolves once every live node
   * agrees that `to` owns the slot and no node still has it open. No-op if `to` owns it.
   */
  async migrateSlot(
    slot: number,
    to: RedisServerHandle,
    options: MigrateSlotOptions = {},
  ): Promise<void> {
    const from = await this.ownerOf(slot);
    if (from === to) return;
    const [fromId, toId] = await Promise.all([this.nodeId(from), this.nodeId(to)]);
    await okCommand(to, 'CLUSTER', 'SETSLOT', String(slot), 'IMPORTING', fromId);
    await okCommand(from, 'CLUSTER', 'SETSLOT', String(slot), 'MIGRATING', toId);
    await this.#moveKeys(slot, from, to, options);
    await options.beforeFinalize?.();
    await this.#finalizeSlot(slot, toId, from, to);
    await this.#waitForSlotOwner(slot, to, options.timeoutMs ?? DEFAULT_WAIT_MS);
  }

  /**
   * Runs `CLUSTER FAILOVER [FORCE|TAKEOVER]` on `replica` and resolves once it is a master,
   * the cluster state is ok and converged, and its old master (if live) replicates from it.
   * `default` needs the old master to answer: use `force` or `takeover` when it is down.
   */
  async failover(
    replica: RedisServerHandle,
    mode: FailoverMode = 'default',
    timeoutMs = DEFAULT_WAIT_MS,
  ): Promise<void> {
    const oldMaster = await this.masterOf(replica);
    const args = mode === 'default' ? [] : [mode.toUpperCase()];
    await okCommand(replica, 'CLUSTER', 'FAILOVER', ...args);
    await this.waitForRole(replica, 'master', timeoutMs);
    await this.waitForState('ok', timeoutMs);
    await this.waitForConvergence(timeoutMs);
    if (oldMaster.running && !oldMaster.frozen) {
      await this.waitForRole(oldMaster, 'replica', timeoutMs);
    }
  }

  /** Kills every node and removes their temp dirs. Idempotent. */
  dispose(): Promise<void> {
    this.#disposing ??= Promise.all(this.nodes.map((node) => node.dispose())).then(() => undefined);
    return this.#disposing;
  }

  /** Asks every live node at once; the first problem found, or `undefined` if none. */
  async #firstProblem(
    probe: (node: RedisServerHandle) => Promise<string | undefined>,
  ): Promise<string | undefined> {
    const live = this.liveNodes();
    if (live.length === 0) return 'no live node';
    const problems = await Promise.all(live.map(probe));
    return problems.find((problem) => problem !== undefined);
  }

  #anyLive(): RedisServerHandle {
    const node = this.liveNodes()[0];
    if (!node) throw new Error('no live cluster node to ask');
    return node;
  }

  async #liveWithRole(role: RoleInfo['role']): Promise<RedisServerHandle[]> {
    const live = this.liveNodes();
    const roles = await Promise.all(
      live.map(async (node) => parseRole(await jsonCommand(node, 'ROLE')).role),
    );
    return live.filter((_, index) => roles[index] === role);
  }

  async #slotRanges(node: RedisServerHandle): Promise<SlotRange[]> {
    return parseClusterSlots(await jsonCommand(node, 'CLUSTER', 'SLOTS'));
  }

  async #stateProblem(node: RedisServerHandle, state: 'ok' | 'fail'): Promise<string | undefined> {
    const info = parseInfo(await node.cli('CLUSTER', 'INFO'));
    const seen = info.get('cluster_state');
    if (seen !== state) return `port ${node.port}: cluster_state:${seen}`;
    if (state === 'fail') return undefined;
    const healthy = info.get('cluster_slots_ok');
    if (healthy !== String(CLUSTER_SLOT_COUNT)) {
      return `port ${node.port}: cluster_slots_ok:${healthy}`;
    }
    const ranges = await this.#slotRanges(node);
    const dead = ranges.find((range) => {
      const owner = this.nodes.find((candidate) => candidate.port === range.masterPort);
      return !owner?.running || owner.frozen;
    });
    return dead && `port ${node.port}: slots ${dead.start}-${dead.end} on dead ${dead.masterPort}`;
  }

  async #moveKeys(
    slot: number,
    from: RedisServerHandle,
    to: RedisServerHandle,
    options: MigrateSlotOptions,
  ): Promise<void> {
    const batch = String(options.batchSize ?? MIGRATE_BATCH);
    for (;;) {
      const keys = (await jsonCommand(from, 'CLUSTER', 'GETKEYSINSLOT', String(slot), batch)) as
        string[] | null;
      if (!keys || keys.length === 0) return;
      const reply = await jsonCommand(
        from,
        // With tls-cluster, MIGRATE itself dials over TLS: the target's TLS port then.
        ...['MIGRATE', to.host, String(to.tlsPort ?? to.port), '', '0', String(MIGRATE_TIMEOUT_MS)],
        ...['KEYS', ...keys],
      );
      if (reply !== 'OK' && reply !== 'NOKEY') {
        throw new Error(`MIGRATE of slot ${slot} answered ${JSON.stringify(reply)}`);
      }
      if (options.pauseBetweenKeysMs) await sleep(options.pauseBetweenKeysMs);
    }
  }

  async #finalizeSlot(
    slot: number,
    toId: string,
    from: RedisServerHandle,
    to: RedisServerHandle,
  ): Promise<void> {
    const setNode = (node: RedisServerHandle): Promise<void> =>
      okCommand(node, 'CLUSTER', 'SETSLOT', String(slot), 'NODE', toId);
    // Target first: once the source lets go, clients get MOVED to a node that accepts them.
    await setNode(to);
    await setNode(from);
    const others = (await this.masters()).filter((node) => node !== to && node !== from);
    await Promise.all(others.map(setNode));
  }

  async #waitForSlotOwner(slot: number, to: RedisServerHandle, timeoutMs: number): Promise<void> {
    await waitUntil(`slot ${slot} owned by port ${to.port}`, timeoutMs, async () => {
      return this.#firstProblem(async (node) => {
        const ranges = await this.#slotRanges(node);
        const range = ranges.find((r) => r.start <= slot && slot <= r.end);
        if (range?.masterPort !== to.port) {
          return `port ${node.port} says ${range?.masterPort ?? 'nobody'}`;
        }
        const entries = await this.clusterNodes(node);
        const open = entries.find((e) => e.migrating.has(slot) || e.importing.has(slot));
        return open && `port ${node.port} still sees slot ${slot} open on ${open.port}`;
      });
    });
  }
}

/** Discovers which nodes ended up masters and checks the counts match what was asked. */
async function checkTopology(
  cluster: RedisClusterHandle,
  masters: number,
  replicas: number,
): Promise<void> {
  const [seenMasters, seenReplicas] = await Promise.all([cluster.masters(), cluster.replicas()]);
  if (seenMasters.length !== masters || seenReplicas.length !== replicas) {
    throw new Error(
      `expected ${masters} masters and ${replicas} replicas, got ${seenMasters.length} and ${seenReplicas.length}`,
    );
  }
}

function validateOptions(masters: number, replicasPerMaster: number): void {
  if (!Number.isInteger(masters) || masters < 3) {
    throw new Error(`redis-cli --cluster create needs at least 3 masters, got ${masters}`);
  }
  if (!Number.isInteger(replicasPerMaster) || replicasPerMaster < 0) {
    throw new Error(`replicasPerMaster must be a non-negative integer, got ${replicasPerMaster}`);
  }
}

/**
 * Starts `masters * (1 + replicasPerMaster)` cluster-enabled redis-servers, joins them with
 * `redis-cli --cluster create`, and resolves once the cluster state is ok everywhere, every
 * node agrees on the slot map and every replica finished its initial sync.
 */
export async function startRedisCluster(
  options: RedisClusterOptions = {},
): Promise<RedisClusterHandle> {
  const masters = options.masters ?? DEFAULT_MASTERS;
  const replicasPerMaster = options.replicasPerMaster ?? DEFAULT_REPLICAS_PER_MASTER;
  validateOptions(masters, replicasPerMaster);
  const nodes = await startClusterNodes(masters * (1 + replicasPerMaster), options);
  const cluster = new RedisClusterHandle(nodes);
  try {
    await runClusterCreate(nodes, replicasPerMaster);
    await cluster.waitForState('ok');
    await cluster.waitForConvergence();
    await checkTopology(cluster, masters, masters * replicasPerMaster);
    await cluster.waitForReplicasSynced();
    return cluster;
  } catch (error) {
    await cluster.dispose();
    throw error;
  }
}

/**
 * Jest helper: starts a cluster in `beforeAll`, disposes it in `afterAll`, and returns a getter
 * to call from tests and later hooks.
 */
export function useRedisCluster(options?: RedisClusterOptions): () => RedisClusterHandle {
  let handle: RedisClusterHandle | undefined;
  beforeAll(async () => {
    handle = await startRedisCluster(options);
  }, CREATE_TIMEOUT_MS + DEFAULT_WAIT_MS);
  afterAll(async () => {
    await handle?.dispose();
    handle = undefined;
  });
  return () => {
    if (!handle) {
      throw new Error('useRedisCluster: cluster is only available inside tests and hooks');
    }
    return handle;
  };
}
