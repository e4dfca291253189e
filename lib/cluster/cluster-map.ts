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
}

/** A master and the replicas that follow it. */
export interface Shard {
  master: ClusterNode;
  replicas: ClusterNode[];
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
      node = { key, address, pool };
      this.nodes.set(key, node);
      this.onPool(pool, key);
    }
    return node;
  }

  /**
   * Installs a freshly read topology. Nodes it does not name are removed and their pools disconnected (their
   * in-flight commands finish first); returns those pools' disconnections.
   */
  apply(layouts: readonly ShardLayout[]): Array<Promise<void>> {
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
    return this.drop((node) => !live.has(node.key));
  }

  /** After `MOVED slot host:port`: that slot is now served by `node` as master, until the next refresh. */
  move(slot: number, node: ClusterNode): void {
    const current = this.slots[slot];
    if (current?.master !== node) this.slots[slot] = { master: node, replicas: [] };
  }

  /** The node for a slot: its master, or with `replica` a random replica of that shard when it has one. */
  owner(slot: number, replica: boolean): ClusterNode | undefined {
    const shard = this.slots[slot];
    if (shard === undefined) return undefined;
    if (!replica || shard.replicas.length === 0) return shard.master;
    return shard.replicas[Math.floor(Math.random() * shard.replicas.length)];
  }

  /** Masters in turn, for commands without keys. */
  anyMaster(): ClusterNode | undefined {
    const shards = this.shardList;
    if (shards.length === 0) return undefined;
    this.next = (this.next + 1) % shards.length;
    return shards[this.next].master;
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
