import type { Connection } from '../connection/connection';
import type { RedisPool } from '../pool/redis-pool.interface';
import type { RedisReply } from '../protocol/resp.types';
import { abortError, raceAbort } from './abort';
import { BATCH_CHUNK_SIZE, toError, type Settled } from './command-batch';
import type { CommandSpec } from './command-runner';

/** Where a pipeline or transaction gets the connection it runs on. */
export interface ConnectionSource {
  /** A connection for this batch alone (on a cluster, on the master serving the batch's slot). */
  acquire(signal: AbortSignal | undefined, batch: readonly CommandSpec[]): Promise<Connection>;
  /** Gives it back; `discard` when it must not be reused (a batch was abandoned mid-way). */
  release(connection: Connection, discard: boolean): void;
  /**
   * Present for pools that shard (a cluster): sends a pipeline's commands through the pool's routing instead of
   * one connection, so each goes to its own node, and resolves their results in the caller's order.
   */
  sendBatch?(
    specs: readonly CommandSpec[],
    timeoutMs: number | undefined,
    signal: AbortSignal | undefined,
  ): Promise<Settled[]>;
  /**
   * Present for pools that route by key (a cluster): runs `fn` on a lease where the batch's slot lives, through
   * the pool's `withConnection`, which runs it again on the new owner when the slot moved before anything ran.
   */
  lease?<T>(
    signal: AbortSignal | undefined,
    batch: readonly CommandSpec[],
    fn: (connection: Connection) => Promise<T>,
  ): Promise<T>;
}

/** Leases from the pool for each batch and gives the lease back after it. */
export function poolSource(pool: RedisPool): ConnectionSource {
  const source: ConnectionSource = {
    acquire: async (signal, batch) =>
      raceAbort(pool.getConnection(pool.routingKey?.(batch)), signal, undefined, (late) =>
        pool.release(late),
      ),
    release: (connection, discard) => {
      if (discard) connection.destroy();
      pool.release(connection);
    },
  };
  if (pool.masterPools !== undefined) {
    source.sendBatch = (specs, timeoutMs, signal) => sendRouted(pool, specs, timeoutMs, signal);
  }
  const routingKey = pool.routingKey?.bind(pool);
  if (routingKey !== undefined) {
    source.lease = async (signal, batch, fn) =>
      raceAbort(
        pool.withConnection((connection) => {
          // Aborted while waiting for the lease: nothing is sent.
          if (signal?.aborted === true) return Promise.reject(abortError(signal));
          return fn(connection);
        }, routingKey(batch)),
        signal,
      );
  }
  return source;
}

/**
 * Sends each command through the pool's own routing (`execute`), a chunk per event-loop turn, so that every
 * node gets its share pipelined in one write; results come back in order with errors in place.
 */
async function sendRouted(
  pool: RedisPool,
  specs: readonly CommandSpec[],
  timeoutMs: number | undefined,
  signal: AbortSignal | undefined,
): Promise<Settled[]> {
  const settled: Settled[] = new Array<Settled>(specs.length);
  for (let start = 0; start < specs.length; start += BATCH_CHUNK_SIZE) {
    const end = Math.min(specs.length, start + BATCH_CHUNK_SIZE);
    const round: Array<Promise<void>> = [];
    for (let i = start; i < end; i++) {
      const spec = specs[i];
      round.push(
        pool
          .execute<RedisReply>(spec.command, spec.args, { buffers: spec.buffers, timeoutMs })
          .then(
            (reply) => {
              settled[i] = reply;
            },
            (error: unknown) => {
              settled[i] = toError(error);
            },
          ),
      );
    }
    await raceAbort(Promise.all(round), signal);
  }
  return settled;
}

/** A connection already leased by the caller (inside `withConnection`/`watch`): kept after each batch. */
export function fixedSource(connection: Connection): ConnectionSource {
  return {
    acquire: () => Promise.resolve(connection),
    release: () => undefined,
  };
}
