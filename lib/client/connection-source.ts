import type { Connection } from '../connection/connection';
import type { RedisPool } from '../pool/redis-pool.interface';
import { raceAbort } from './abort';

/** Where a pipeline or transaction gets the connection it runs on. */
export interface ConnectionSource {
  /** A connection for this batch alone. */
  acquire(signal?: AbortSignal): Promise<Connection>;
  /** Gives it back; `discard` when it must not be reused (a batch was abandoned mid-way). */
  release(connection: Connection, discard: boolean): void;
}

/** Leases from the pool for each batch and gives the lease back after it. */
export function poolSource(pool: RedisPool): ConnectionSource {
  return {
    acquire: (signal) =>
      raceAbort(pool.getConnection(), signal, undefined, (late) => pool.release(late)),
    release: (connection, discard) => {
      if (discard) connection.destroy();
      pool.release(connection);
    },
  };
}

/** A connection already leased by the caller (inside `withConnection`/`watch`): kept after each batch. */
export function fixedSource(connection: Connection): ConnectionSource {
  return {
    acquire: () => Promise.resolve(connection),
    release: () => undefined,
  };
}
