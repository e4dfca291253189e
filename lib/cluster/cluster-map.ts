import { ConnectionPool } from '../pool/connection-pool';
import type { PoolOptions } from '../pool/pool-options';
import { nodeKey, type NodeAddress, type ShardLayout } from './cluster-topology';
import { SLOT_COUNT } from './hash-slot';

/** One cluster node and the pool of connections to it. */
export interface ClusterNode {
  /** `host:port`. */
  readonly key: string;
  readonly address: NodeAddress;
  readonly pool: ConnectionPool;
  /**
   * Its pool has awaited replies for `stallTimeoutMs` without hearing a byte (a frozen or black-holed node): no
   * new command is sent there until it answers again or a refresh replaces it. Kept by `StallWatch`.
   */
  stalled: boolean;
}

/** A master and the replicas that follow it. */
export interface Shard {
  master: ClusterNode;
  replicas: ClusterNode[];
  /** Made up after a MOVED: its replicas are not known until the next refresh. */
  provisional?: boolean;
}

/**
 * Which node serves which slot, and one `ConnectionPool` per node. Replaced wholesale by `apply()` after each
 * topology refresh (nodes that left are drained and closed), patched slot by slot by `move()` after a MOVED.
 * Nodes live in a `Map`, so no host name from the network can reach an object prototype.
 */
export class ClusterMap {
  private readonly nodes = new Map<string, ClusterNode>();
  private slots: Array<Shard | undefined> = new Array<Shard | undefined>(SLOT_COUNT);
  private shardList: Shard[] = [];
  private next = 0;

  /** Held in a private field: `inspect()` (even with `customInspect: false`) and spreading never see it. */
  readonly #poolOptions: PoolOptions;

  constructor(
    poolOptions: PoolOptions,
    private readonly onPool: (pool: ConnectionPool, key: string) => void,
  ) {
    this.#poolOptions = poolOptions;
  }

  /** Whether a topology was applied yet. */
  get known(): boolean {
    return this.shardList.length > 0;
  }

  /** The node at `address` when it has a pool already. */
  find(address: NodeAddress): ClusterNode | undefined {
    return this.nodes.get(nodeKey(address));
  }

  /** The node at `address`, with a pool opened for it on first use. */
  node(address: NodeAddress): ClusterNode {
    const key = nodeKey(address);
    let node = this.nodes.get(key);
    if (node === undefined) {
      const pool = new ConnectionPool({
        ...this.#poolOptions,
        host: address.host,
        port: address.port,
      });
      node = { key, address, pool, stalled: false };
      this.nodes.set(key, node);
      this.onPool(pool, key);
    }
    return node;
  }

  /**
   * Installs a freshly read topology. Nodes it does not name are removed and their pools disconnected (their
   * in-flight commands finish first, except on a stalled node); returns those pools' disconnections.
   */
  apply(layouts: readonly ShardLayout[]): Array<Promise<void>> {
    // A stalled node that is not a master any more (demoted behind a partition that drops packets) will not
    // answer what it was sent either: its pool closes now, so that read-only commands are retried on the new
    // master, and a fresh pool takes its place if it stays in the topology (as a replica).
    const masters = new Set(layouts.map((layout) => nodeKey(layout.master)));
    const demoted = this.drop((node) => node.stalled && !masters.has(node.key), {
      drainTimeoutMs: 0,
    });
    const slots = new Array<Shard | undefined>(SLOT_COUNT);
    const shards: Shard[] = [];
    const live = new Set<string>();
    for (const layout of layouts) {
      const shard: Shard = {
        master: this.node(layout.master),
        replicas: layout.replicas.map((replica) => this.node(replica)),
      };
      shards.push(shard);
      live.add(shard.master.key);
      for (const replica of shard.replicas) live.add(replica.key);
      for (const [first, last] of layout.ranges) slots.fill(shard, first, last + 1);
    }
    this.slots = slots;
    this.shardList = shards;
    // A stalled node that left (a frozen master replaced by its replica) will not answer a drain: its written
    // commands fail now (`commandMayHaveRun: true`), so that read-only ones are retried on the new owner.
    return [
      ...demoted,
      ...this.drop((node) => !live.has(node.key) && !node.stalled),
      ...this.drop((node) => !live.has(node.key), { drainTimeoutMs: 0 }),
    ];
  }

  /** After `MOVED slot host:port`: that slot is now served by `node` as master, until the next refresh. */
  move(slot: number, node: ClusterNode): void {
    const current = this.slots[slot];
    if (current?.master === node) return;
    this.slots[slot] = this.shardList.find((shard) => shard.master === node) ?? {
      master: node,
      replicas: [],
      provisional: true,
    };
  }

  /**
   * The node for a slot: its master, or with `replica` a random healthy replica of that shard (not stalled, its
   * pool not down), else its master. `undefined` when no node is known for the slot, or the master it would be
   * is stalled (a refresh may find its successor).
   */
  owner(slot: number, replica: boolean): ClusterNode | undefined {
    const shard = this.slots[slot];
    if (shard === undefined) return undefined;
    const node = replica ? (pickHealthy(shard.replicas) ?? shard.master) : shard.master;
    return node.stalled ? undefined : node;
  }

  /** The master the current map names for a slot, stalled or not. */
  masterOf(slot: number): ClusterNode | undefined {
    return this.slots[slot]?.master;
  }

  /**
   * A random healthy replica of the slot's shard; `null` when it has none, `undefined` when no node is known for
   * the slot. A shard known only from a MOVED (its replicas not read yet) answers with its master.
   */
  replicaOf(slot: number): ClusterNode | null | undefined {
    const shard = this.slots[slot];
    if (shard === undefined) return undefined;
    if (shard.provisional) return shard.master.stalled ? undefined : shard.master;
    return pickHealthy(shard.replicas);
  }

  /** Masters in turn, for commands without keys (stalled ones skipped). */
  anyMaster(): ClusterNode | undefined {
    const shards = this.shardList;
    for (let i = 0; i < shards.length; i++) {
      this.next = (this.next + 1) % shards.length;
      const master = shards[this.next].master;
      if (!master.stalled) return master;
    }
    return undefined;
  }

  /** Every shard's master. */
  masters(): ClusterNode[] {
    return this.shardList.map((shard) => shard.master);
  }

  /** Every node of the current topology, masters first. */
  members(): ClusterNode[] {
    return [...this.masters(), ...this.shardList.flatMap((shard) => shard.replicas)];
  }

  /** Every node with an open pool, including ones met through redirections and seeds. */
  all(): ClusterNode[] {
    return [...this.nodes.values()];
  }

  /** Shards in the current topology. */
  shards(): readonly Shard[] {
    return this.shardList;
  }

  /** Removes and disconnects the nodes `which` selects. */
  drop(
    which: (node: ClusterNode) => boolean,
    options?: { drainTimeoutMs?: number },
  ): Array<Promise<void>> {
    const closing: Array<Promise<void>> = [];
    for (const [key, node] of this.nodes) {
      if (!which(node)) continue;
      this.nodes.delete(key);
      closing.push(node.pool.disconnect(options));
    }
    return closing;
  }
}

/** A random node of `nodes` that is neither stalled nor down; `null` when there is none. */
function pickHealthy(nodes: readonly ClusterNode[]): ClusterNode | null {
  let healthy = 0;
  for (const node of nodes) if (!node.stalled && !node.pool.down) healthy++;
  if (healthy === 0) return null;
  let pick = Math.floor(Math.random() * healthy);
  for (const node of nodes) {
    if (node.stalled || node.pool.down) continue;
    if (pick-- === 0) return node;
  }
  return null;
}
