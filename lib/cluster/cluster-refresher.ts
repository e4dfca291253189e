import { ClusterAddressError, ClusterError, ResponseError } from '../errors/redis-pool.errors';
import type { ClusterNode } from './cluster-map';
import type { ClusterContext } from './cluster-context';
import {
  parseClusterShards,
  parseClusterSlots,
  type NodeAddress,
  type ShardLayout,
} from './cluster-topology';
import { CommandKeyTable } from './command-keys';
import { StallWatch } from './stall-watch';

/**
 * Keeps a cluster pool's topology current. A refresh asks the known masters (in random order), then the seeds,
 * then the other known nodes, for CLUSTER SHARDS (CLUSTER SLOTS before Redis 7), reads the server's command
 * table once, and applies the layout to the map. Refreshes are coalesced (at most one runs); those asked for by
 * redirections and errors run at most once per `refreshMinIntervalMs`; one also runs every `refreshIntervalMs`.
 */
export class ClusterRefresher {
  private commandTable: CommandKeyTable | null = null;
  private refreshing: Promise<void> | null = null;
  private lastRefreshAt = 0;
  private refreshTimer: NodeJS.Timeout | null = null;
  private periodicTimer: NodeJS.Timeout | null = null;
  private readonly stalls: StallWatch;

  constructor(private readonly context: ClusterContext) {
    this.stalls = new StallWatch(context.map, context.config.stallTimeoutMs, () =>
      this.requestRefresh(),
    );
  }

  /** The server's command table (key positions, request and response policies); `null` before the first read. */
  get table(): CommandKeyTable | null {
    return this.commandTable;
  }

  /** Resolves once a topology and the command table are known. */
  ready(): Promise<void> {
    if (this.commandTable !== null && this.context.map.known) return Promise.resolve();
    return this.refresh();
  }

  /** Reads the topology again now (coalesced with any refresh in progress). */
  refresh(): Promise<void> {
    if (this.context.isClosed()) return Promise.reject(this.context.closedError());
    this.refreshing ??= this.discover().finally(() => {
      this.refreshing = null;
      this.lastRefreshAt = Date.now();
    });
    return this.refreshing;
  }

  /** A refresh soon, at most one per `refreshMinIntervalMs`, coalesced with any other. */
  requestRefresh(): void {
    if (this.context.isClosed() || this.refreshing !== null || this.refreshTimer !== null) return;
    const wait = this.lastRefreshAt + this.context.config.refreshMinIntervalMs - Date.now();
    const run = (): void => {
      this.refreshTimer = null;
      if (!this.context.isClosed()) this.refresh().catch(() => undefined);
    };
    if (wait <= 0) run();
    else this.refreshTimer = setTimeout(run, wait);
  }

  /** Clears every timer, for `disconnect()`. */
  stop(): void {
    this.stalls.stop();
    if (this.refreshTimer !== null) clearTimeout(this.refreshTimer);
    if (this.periodicTimer !== null) clearTimeout(this.periodicTimer);
    this.refreshTimer = null;
    this.periodicTimer = null;
  }

  /** Asks known nodes, then the seeds, for the topology, until one answers. */
  private async discover(): Promise<void> {
    const { config, map } = this.context;
    const tried = new Set<string>();
    // Stalled nodes last: each would hold the refresh up for a whole query timeout.
    const candidates: NodeAddress[] = [
      ...shuffled(map.masters()).map((node) => node.address),
      ...config.seeds,
      ...map.members().map((node) => node.address),
    ].sort((a, b) => Number(this.isStalled(a)) - Number(this.isStalled(b)));
    const failures: string[] = [];
    let lastError: unknown;
    let refused: ClusterAddressError | undefined;
    for (const address of candidates) {
      if (this.context.isClosed()) return;
      const node = map.node(address);
      if (tried.has(node.key)) continue;
      tried.add(node.key);
      try {
        const layouts = await this.topologyFrom(node);
        if (layouts.length === 0) throw new ClusterError('the node serves no slots');
        if (this.commandTable === null) {
          const reply = await node.pool.execute('COMMAND', [], {
            timeoutMs: config.queryTimeoutMs,
          });
          // Shard channels count as keys, so SPUBLISH goes straight to the slot's master.
          this.commandTable = CommandKeyTable.fromCommandReply(reply, { includeNotKeys: true });
        }
        if (this.context.isClosed()) return;
        void Promise.all(map.apply(layouts)).catch(() => undefined);
        this.schedulePeriodic();
        this.stalls.start();
        this.context.refreshed();
        return;
      } catch (error) {
        lastError = error;
        if (error instanceof ClusterAddressError) refused ??= error;
        failures.push(`${node.key}: ${(error as Error).message}`);
      }
    }
    // Seeds that did not answer are closed again, unless they are part of a known topology.
    const known = new Set(map.members().map((node) => node.key));
    void Promise.all(map.drop((node) => !known.has(node.key))).catch(() => undefined);
    // A topology naming a node that may not be connected to is the error to report, not a mere failure.
    const error =
      refused ??
      new ClusterError(
        `Could not read the cluster topology from any node (${failures.join('; ')})`,
        { cause: lastError },
      );
    this.context.refreshFailed(error);
    throw error;
  }

  /** CLUSTER SHARDS, or CLUSTER SLOTS from servers before 7.0. */
  private async topologyFrom(node: ClusterNode): Promise<ShardLayout[]> {
    const { config } = this.context;
    const timeoutMs = config.queryTimeoutMs;
    try {
      const reply = await node.pool.execute('CLUSTER', ['SHARDS'], { timeoutMs });
      return this.checked(parseClusterShards(reply, node.address.host, config.nodeTls), 'SHARDS');
    } catch (error) {
      if (!(error instanceof ResponseError) || /cluster support disabled/i.test(error.message)) {
        throw error;
      }
      const reply = await node.pool.execute('CLUSTER', ['SLOTS'], { timeoutMs });
      return this.checked(parseClusterSlots(reply, node.address.host), 'SLOTS');
    }
  }

  /**
   * The layouts with every address as this process reaches it (`natMap`); a replica that may not be connected
   * to is left out.
   * @throws ClusterAddressError when a master may not be connected to: its slots would be unreachable.
   */
  private checked(layouts: ShardLayout[], command: string): ShardLayout[] {
    const { addresses } = this.context.config;
    const source = `CLUSTER ${command}`;
    return layouts.map((layout) => ({
      ranges: layout.ranges,
      master: addresses.resolve(layout.master, source),
      replicas: layout.replicas.flatMap((replica) => {
        try {
          return [addresses.resolve(replica, source)];
        } catch {
          return [];
        }
      }),
    }));
  }

  private isStalled(address: NodeAddress): boolean {
    return this.context.map.find(address)?.stalled === true;
  }

  /** Re-arms the periodic refresh. */
  private schedulePeriodic(): void {
    if (this.periodicTimer !== null) clearTimeout(this.periodicTimer);
    this.periodicTimer = null;
    const { refreshIntervalMs } = this.context.config;
    if (refreshIntervalMs === 0 || this.context.isClosed()) return;
    this.periodicTimer = setTimeout(() => {
      this.periodicTimer = null;
      if (!this.context.isClosed()) this.refresh().catch(() => undefined);
    }, refreshIntervalMs);
    this.periodicTimer.unref();
  }
}

function shuffled<T>(items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [items[i], items[j]] = [items[j], items[i]];
  }
  return items;
}
