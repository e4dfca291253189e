import { withinDeadline } from '../utils/deadline';
import type { RedisPool } from '../pool/redis-pool.interface';

/**
 * Sends one PING and resolves with its round trip in milliseconds, or rejects within `timeoutMs` whatever the
 * pool does: the command carries the deadline, and a timer (always cleared) backs it up for the cases where the
 * pool cannot honour it, e.g. every connection leased or a frozen server.
 */
export function pingWithin(pool: RedisPool, timeoutMs: number, target: string): Promise<number> {
  const started = performance.now();
  // A pool that throws synchronously (e.g. a test double) still yields a rejected promise.
  const ping = Promise.resolve().then(() => pool.execute('PING', [], { timeoutMs }));
  return withinDeadline(ping, timeoutMs, `PING to ${target}`).then(() =>
    Math.max(0, Math.round(performance.now() - started)),
  );
}

/** The message of anything thrown, for a log line. */
export function reasonOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
