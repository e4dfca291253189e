import { CachedRead } from '../client-cache/cache-requests';
import type { CommandRequest } from '../connection/command-request';
import type { Connection } from '../connection/connection';
import { PoolExhaustedError, TimeoutError } from '../errors/redis-pool.errors';
import { timerDelay } from '../utils/deadline';
import { Fifo } from '../utils/fifo';

/**
 * When shared connections have this many replies outstanding each, another connection is opened (up to
 * `maxConnections`); below it, one deeper pipeline is faster than more sockets. A command carrying a large value,
 * or a socket waiting for 'drain', counts as this many on its own.
 */
export const GROW_AT_PENDING = 128;

/**
 * A connection with fewer replies outstanding than this (counting large values and a full socket as
 * `GROW_AT_PENDING`) takes the next turn's commands even if a later one is idler.
 */
export const PACK_BELOW = GROW_AT_PENDING;

/** Queues a request; a cached read learns its connection first (its in-flight marker lives there). */
function enqueueOn(connection: Connection, request: CommandRequest): void {
  if (request instanceof CachedRead) request.queuedOn(connection);
  connection.enqueue(request);
}

/** What the dispatcher needs from its pool. */
export interface DispatchHost {
  /** Room for one more shared connection, none being opened, and no backoff in force. */
  canGrowShared(): boolean;
  /** Opens a shared connection now. */
  growShared(): void;
  /** Opens a shared connection when the backoff allows (queued work waits for it). */
  ensureShared(): void;
  /** A connection attempt failed a moment ago and none is under way: new work fails fast. */
  inBackoff(): boolean;
  /** The last reason a connection could not be opened, for timeout messages. */
  lastConnectError(): Error | null;
  readonly address: string;
}

/** Limits of the shared path. */
export interface DispatchLimits {
  /** Most commands waiting for a shared connection. */
  maxQueueLength: number;
  /** A shared connection with this many replies outstanding takes no new work until half of them arrived. */
  maxPendingPerConnection: number;
}

/**
 * The multiplexed path: the shared connections, the backlog of commands waiting for one, and which connection
 * each command goes to. Every command issued before a connection's coalesced write goes to that connection (so
 * `Promise.all([set(k), get(k)])` runs in order and leaves in one write); after it, the first connection with
 * room is chosen (fewer than `PACK_BELOW` replies outstanding), else the least busy, routing around connections
 * that are stalled, congested (waiting for 'drain') or at their high-water mark. Pending work is bounded per
 * connection and in the backlog, so a frozen server cannot grow memory.
 */
export class SharedDispatcher {
  readonly connections: Connection[] = [];
  private backlog = new Fifo<CommandRequest>();
  private backlogTimer: NodeJS.Timeout | null = null;
  private backlogTimerAt = Infinity;
  /** The shared connection chosen for this event-loop turn (see the class description). */
  private turnConnection: Connection | null = null;

  constructor(
    private readonly host: DispatchHost,
    private readonly limits: DispatchLimits,
    /** Counts commands that timed out waiting for a connection. */
    private readonly telemetry?: { timeouts: number },
  ) {}

  /**
   * Commands waiting for a shared connection. Ones that settled while waiting (aborted) are taken out first, so
   * they neither show in `stats()` nor hold `disconnect()` back; not on the hot path.
   */
  get queued(): number {
    const count = this.backlog.length;
    if (count === 0) return 0;
    const kept = new Fifo<CommandRequest>();
    for (let i = 0; i < count; i++) {
      const request = this.backlog.shift() as CommandRequest;
      if (!request.done) kept.push(request);
    }
    this.backlog = kept;
    if (kept.length === 0) this.clearBacklogTimer();
    return kept.length;
  }

  /** Whether commands may be waiting for a shared connection (settled ones may still be counted); O(1). */
  get hasBacklog(): boolean {
    return this.backlog.length > 0;
  }

  /**
   * Sends a request to a shared connection, or queues it until one is ready. New work is bounded by
   * `maxQueueLength`; a request being sent again (`bounded: false`) was already counted once.
   */
  dispatch(request: CommandRequest, bounded = true): void {
    const connection = this.pick();
    if (connection !== null) {
      enqueueOn(connection, request);
      return;
    }
    if (bounded && this.host.inBackoff() && !this.connections.some((c) => c.ready)) {
      // The server was unreachable a moment ago and no connection serves: fail fast rather than pile up work
      // until it returns. (A failed extra connection, e.g. maxclients, leaves the pool serving: work queues.)
      request.reject(this.host.lastConnectError() as Error);
      return;
    }
    if (bounded && this.backlog.length >= this.limits.maxQueueLength) {
      request.reject(
        new PoolExhaustedError(
          `Too many commands waiting for a connection to ${this.host.address}`,
        ),
      );
      return;
    }
    this.queue(request);
    this.host.ensureShared();
  }

  /** A connection joins the shared set, and queued commands go to it. */
  add(connection: Connection): void {
    this.connections.push(connection);
    this.flushBacklog();
  }

  /** Takes a connection out of the shared set (it is leased, retired or closed). */
  remove(connection: Connection): void {
    const at = this.connections.indexOf(connection);
    if (at !== -1) this.connections.splice(at, 1);
    if (this.turnConnection === connection) this.turnConnection = null;
  }

  /** A ready shared connection with nothing outstanding, taken out of the shared set; `null` if none. */
  takeIdle(): Connection | null {
    for (const connection of this.connections) {
      if (connection.ready && connection.pending === 0) {
        this.remove(connection);
        return connection;
      }
    }
    return null;
  }

  /** The connection for a command now; `null` when none is ready or every one is at its high-water mark. */
  private pick(): Connection | null {
    const sticky = this.turnConnection;
    // This turn's commands share one write, so they run in the order issued, large values or not.
    if (sticky !== null && sticky.turnOpen && sticky.ready && !sticky.stalled) {
      if (sticky.pending >= GROW_AT_PENDING && this.host.canGrowShared()) this.host.growShared();
      return sticky;
    }
    const chosen = this.leastBusy();
    this.turnConnection = chosen;
    return chosen;
  }

  private leastBusy(): Connection | null {
    const { maxPendingPerConnection } = this.limits;
    let best: Connection | null = null;
    let bestLoad = Infinity;
    let stalled: Connection | null = null;
    let full: Connection | null = null;
    for (const connection of this.connections) {
      if (!connection.ready) continue;
      const pending = connection.pending;
      if (pending >= maxPendingPerConnection) {
        full ??= connection;
        continue;
      }
      if (connection.stalled) {
        stalled ??= connection;
        continue;
      }
      // A large value in flight or a full socket buffer counts as a deep pipeline: the next command goes to (or
      // opens) another connection.
      const load =
        pending +
        connection.largePending * GROW_AT_PENDING +
        (connection.congested ? GROW_AT_PENDING : 0);
      // Packed, not spread: the first connection with room takes the turn, so the work rides on as few sockets
      // as it needs, in fewer and larger writes and reads on both sides (Redis runs one command at a time
      // whichever socket it came on, so a deeper pipeline waits no longer). Later ones take what it cannot.
      if (load < PACK_BELOW) {
        best = connection;
        bestLoad = load;
        break;
      }
      if (load < bestLoad) {
        best = connection;
        bestLoad = load;
      }
    }
    const canGrow = this.host.canGrowShared();
    if ((best === null || bestLoad >= GROW_AT_PENDING) && canGrow) this.host.growShared();
    if (best === null && !canGrow) best = stalled;
    // Every connection at its high-water mark: queue, and resume when one has room again.
    if (best === null && full !== null) this.waitForRoom(full);
    return best;
  }

  private waitForRoom(connection: Connection): void {
    if (connection.onRoom !== null) return;
    connection.roomAt = Math.floor(this.limits.maxPendingPerConnection / 2);
    connection.onRoom = () => this.flushBacklog();
  }

  private queue(request: CommandRequest): void {
    this.backlog.push(request);
    if (request.deadline < this.backlogTimerAt) this.armBacklogTimer(request.deadline);
  }

  /** Sends queued commands to the shared connections, oldest first. */
  flushBacklog(): void {
    while (this.backlog.length > 0) {
      const request = this.backlog.peek() as CommandRequest;
      if (request.done) {
        this.backlog.shift();
        continue;
      }
      const connection = this.pick();
      if (connection === null) return;
      this.backlog.shift();
      enqueueOn(connection, request);
    }
    this.clearBacklogTimer();
  }

  /**
   * A connection could not be opened: fresh queued commands get the real cause now; commands already being
   * retried wait for the server within their deadline, unless no retry can cure the failure (`fatal`).
   */
  failQueued(error: Error, fatal: boolean): void {
    const kept = new Fifo<CommandRequest>();
    for (let r = this.backlog.shift(); r !== undefined; r = this.backlog.shift()) {
      if (r.done) continue;
      if (fatal || r.attempts === 0) r.reject(error);
      else kept.push(r);
    }
    this.backlog = kept;
    if (kept.length === 0) this.clearBacklogTimer();
  }

  /** Rejects every queued command (the pool closed). */
  rejectAll(error: () => Error): void {
    this.clearBacklogTimer();
    for (let r = this.backlog.shift(); r !== undefined; r = this.backlog.shift()) r.reject(error());
  }

  private armBacklogTimer(at: number): void {
    if (this.backlogTimer !== null) clearTimeout(this.backlogTimer);
    this.backlogTimerAt = at;
    this.backlogTimer = setTimeout(() => this.expireBacklog(), timerDelay(at - Date.now()));
  }

  private clearBacklogTimer(): void {
    if (this.backlogTimer !== null) clearTimeout(this.backlogTimer);
    this.backlogTimer = null;
    this.backlogTimerAt = Infinity;
  }

  private expireBacklog(): void {
    this.backlogTimer = null;
    this.backlogTimerAt = Infinity;
    const now = Date.now();
    const kept = new Fifo<CommandRequest>();
    let next = Infinity;
    for (let r = this.backlog.shift(); r !== undefined; r = this.backlog.shift()) {
      if (r.done) continue;
      if (r.deadline <= now) {
        const cause = this.host.lastConnectError();
        if (this.telemetry !== undefined) this.telemetry.timeouts++;
        r.reject(
          new TimeoutError(
            `${r.name} to ${this.host.address} timed out waiting for a connection${cause !== null ? ` (last error: ${cause.message})` : ''}`,
            { cause: cause ?? undefined },
          ),
        );
        continue;
      }
      kept.push(r);
      if (r.deadline < next) next = r.deadline;
    }
    this.backlog = kept;
    if (next !== Infinity) this.armBacklogTimer(next);
  }
}
