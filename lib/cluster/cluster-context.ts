import type { ClusterError, PoolClosedError } from '../errors/redis-pool.errors';
import type { ClusterMap } from './cluster-map';
import type { ClusterSettings } from './cluster-options';

/**
 * What a `ClusterPool` shares with the parts it delegates to (the refresher and the router): its options, its
 * map of nodes and its lifecycle, without handing them the pool itself.
 */
export interface ClusterContext {
  readonly config: ClusterSettings;
  readonly map: ClusterMap;
  /** Whether `disconnect()` was called: nothing new starts after that. */
  isClosed(): boolean;
  /** The error of work asked of the closed pool. */
  closedError(): PoolClosedError;
  /** A topology was applied: the pool emits `refresh`. */
  refreshed(): void;
  /** No node gave the topology: the pool emits `error`, when anyone listens. */
  refreshFailed(error: ClusterError): void;
}
