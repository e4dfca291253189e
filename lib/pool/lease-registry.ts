import type { Connection } from '../connection/connection';
import type { ConnectionPool } from './connection-pool';

/**
 * For pools made of several `ConnectionPool`s (one per cluster node, one per sentinel master in turn): which pool
 * each lease came from, so that `release()` gives it back there, even after that pool stopped being used.
 */
export class LeaseRegistry {
  private readonly owners = new Map<Connection, ConnectionPool>();

  /** Records that `connection` was leased from `pool`, and returns it. */
  track(connection: Connection, pool: ConnectionPool): Connection {
    this.owners.set(connection, pool);
    return connection;
  }

  /** Gives a lease back to the pool it came from; a connection not leased here is ignored. */
  release(connection: Connection): void {
    const pool = this.owners.get(connection);
    if (pool === undefined) return;
    this.owners.delete(connection);
    pool.release(connection);
  }
}
