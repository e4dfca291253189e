import type { PoolTelemetry } from '../observability/pool-telemetry';
import type { ConnectionSupervisor } from './connection-supervisor';
import type { LeaseManager } from './lease-manager';
import type { PoolStats } from './redis-pool.interface';
import type { SharedDispatcher } from './shared-dispatcher';

/** The parts of a `ConnectionPool` a stats snapshot reads. */
export interface StatsSources {
  supervisor: ConnectionSupervisor;
  dispatcher: SharedDispatcher;
  leases: LeaseManager;
  telemetry: PoolTelemetry;
  maxConnections: number;
  maxLeases: number;
}

/** A snapshot of a pool: levels counted now, counters from its telemetry. */
export function poolStats(from: StatsSources): PoolStats {
  let idle = from.leases.spareCount;
  const queued = from.dispatcher.queued;
  let pending = queued;
  let deepest = 0;
  for (const connection of from.dispatcher.connections) {
    if (connection.pending === 0) idle++;
    pending += connection.pending;
    if (connection.pending > deepest) deepest = connection.pending;
  }
  return {
    total: from.supervisor.all.size,
    idle,
    leased: from.leases.leased.size,
    connecting: from.supervisor.connectingCount,
    pending,
    queued,
    waiting: from.leases.waiters.length,
    maxConnections: from.maxConnections,
    maxLeases: from.maxLeases,
    deepestPipeline: deepest,
    ...from.telemetry.stats(),
  };
}

/**
 * Closes a pool's parts: waiters and commands waiting out a backoff are rejected at once, commands in flight get
 * up to `drainTimeoutMs` for their replies, then what is still queued is rejected; idle connections QUIT within
 * what is left of the drain deadline (a little at least, so a frozen server cannot stretch it), the others are
 * destroyed.
 */
export async function drainAndClose(
  from: StatsSources & { rejectBackoffs(error: () => Error): void },
  closedError: () => Error,
  drainTimeoutMs: number,
): Promise<void> {
  from.leases.rejectAll(closedError);
  from.rejectBackoffs(closedError);
  from.supervisor.stop();
  const deadline = Date.now() + drainTimeoutMs;
  while (Date.now() < deadline && !drained(from)) {
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  from.dispatcher.rejectAll(closedError);
  const closing: Array<Promise<void>> = [];
  const quitWithinMs = Math.max(20, deadline - Date.now());
  for (const connection of from.supervisor.everyConnection()) {
    if (connection.ready && connection.pending === 0) {
      closing.push(connection.disconnect(quitWithinMs));
    } else {
      connection.destroy(closedError());
      closing.push(connection.whenClosed());
    }
  }
  await Promise.all(closing);
}

function drained(from: StatsSources): boolean {
  if (from.dispatcher.queued > 0 || from.leases.leased.size > 0) return false;
  for (const connection of from.supervisor.all) if (connection.pending > 0) return false;
  return true;
}
