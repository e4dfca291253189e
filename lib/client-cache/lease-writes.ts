import type { RedisArgument } from '../protocol/resp.types';
import { flushesAll, mayWrite } from './cacheable-commands';

/** What a lease's commands tell the cache. */
export interface LeaseWriteHost {
  wrote(args: readonly RedisArgument[], flush: boolean): void;
}

type QueuedWrite = [args: readonly RedisArgument[], flush: boolean];

/** Whether a command stops or changes the connection's tracking (or its protocol, and with it the pushes). */
function stopsTracking(name: string, args: readonly RedisArgument[]): boolean {
  if (name === 'RESET' || name === 'HELLO') return true;
  return name === 'CLIENT' && String(args[0]).toUpperCase() === 'TRACKING';
}

/**
 * The hook a tracked connection calls for every command run on it as a lease (`withConnection`, `multi()`,
 * transactions), which bypass the cache: a write drops its keys from the cache when it is sent and again when it
 * settles; inside MULTI the queued writes run at EXEC, so their keys are dropped again when EXEC settles. A
 * command that turns tracking off (CLIENT TRACKING, RESET, HELLO) drops the connection's entries for good.
 */
export function leaseTap(
  cache: LeaseWriteHost,
  trackingStopped: () => void,
): (name: string, args: readonly RedisArgument[], settled: Promise<unknown>) => void {
  let transaction: QueuedWrite[] | null = null;
  return (name, args, settled) => {
    if (name === 'MULTI') {
      transaction = [];
      return;
    }
    if (name === 'EXEC' || name === 'DISCARD') {
      const writes = transaction;
      transaction = null;
      if (writes === null || writes.length === 0) return;
      const after = (): void => {
        for (const [keys, flush] of writes) cache.wrote(keys, flush);
      };
      settled.then(after, after);
      return;
    }
    if (stopsTracking(name, args)) trackingStopped();
    if (!mayWrite(name)) return;
    const flush = flushesAll(name);
    cache.wrote(args, flush);
    if (transaction !== null) {
      transaction.push([args, flush]);
      return;
    }
    const after = (): void => cache.wrote(args, flush);
    settled.then(after, after);
  };
}
