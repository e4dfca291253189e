import type { ConnectionOptions } from '../connection/connection-options';
import type { ServerTarget } from './command-context';

/** `server.address`, `server.port` and `db.namespace` of a pool's connection options. */
export function targetOf(options: ConnectionOptions, poolName: string): ServerTarget {
  return {
    serverAddress: options.path ?? options.host,
    serverPort: options.path !== undefined ? undefined : options.port,
    database: options.db,
    poolName,
  };
}
