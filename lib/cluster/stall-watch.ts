import type { ClusterMap } from './cluster-map';

/**
 * Tells frozen nodes from slow ones without a timer per command: a few times per `stallTimeoutMs` it looks at
 * every node's pool, and a node whose shared connections have awaited replies for `stallTimeoutMs` without a
 * byte from the server (SIGSTOP, a partition that drops packets) is marked `stalled`. The router then sends it
 * nothing new: commands for its slots wait for the topology refreshes that `onStall` asks for (as they do when
 * a master refuses connections), and a node that answers again is unmarked at the next look.
 */
export class StallWatch {
  private timer: NodeJS.Timeout | null = null;
  private expectedAt = 0;

  constructor(
    private readonly map: ClusterMap,
    private readonly stallTimeoutMs: number,
    private readonly onStall: () => void,
  ) {}

  /** Starts looking (idempotent); nothing happens with `stallTimeoutMs` 0. */
  start(): void {
    if (this.timer !== null || this.stallTimeoutMs === 0) return;
    const period = Math.max(25, Math.floor(this.stallTimeoutMs / 4));
    this.expectedAt = Date.now() + period;
    this.timer = setInterval(() => this.look(period), period);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  private look(period: number): void {
    const now = Date.now();
    const late = now - this.expectedAt > period;
    this.expectedAt = now + period;
    // This process was itself blocked: replies may be waiting unread in the socket, so silence proves nothing.
    if (late) return;
    let anyStalled = false;
    for (const node of this.map.all()) {
      node.stalled = now - node.pool.silentSince() >= this.stallTimeoutMs;
      if (node.stalled) anyStalled = true;
    }
    // Again at every look while one is stalled (refreshes are coalesced and spaced): its commands wait for a
    // topology that names its successor, which the cluster elects only after its own node timeout.
    if (anyStalled) this.onStall();
  }
}
