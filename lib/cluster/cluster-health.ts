import { withinDeadline } from '../utils/deadline';
import type { ClusterMap } from './cluster-map';

/** What a cluster pool reports about itself, for health checks. */
export interface ClusterHealth {
  /** `cluster_state` from CLUSTER INFO of a master (`ok` or `fail`), or `unknown` when none answered. */
  state: string;
  /** Per node of the topology: its role and whether it answered PING in time. */
  nodes: Array<{ address: string; role: 'master' | 'replica'; up: boolean; error?: string }>;
}

/**
 * `cluster_state` (CLUSTER INFO of the first master that answers) and every node's PING, each within
 * `timeoutMs`, once `ready` (the topology) settles, which it must within `timeoutMs` too.
 */
export async function clusterHealth(
  map: ClusterMap,
  ready: Promise<void>,
  timeoutMs: number,
): Promise<ClusterHealth> {
  await withinDeadline(ready, timeoutMs, 'Cluster topology');
  const masters = new Set(map.masters());
  const nodes = await Promise.all(
    map.members().map(async (node) => {
      const role = masters.has(node) ? ('master' as const) : ('replica' as const);
      try {
        await node.pool.execute('PING', [], { timeoutMs });
        return { address: node.key, role, up: true };
      } catch (error) {
        return { address: node.key, role, up: false, error: (error as Error).message };
      }
    }),
  );
  let state = 'unknown';
  for (const node of masters) {
    try {
      const info = await node.pool.execute<string>('CLUSTER', ['INFO'], { timeoutMs });
      state = /cluster_state:(\w+)/.exec(String(info))?.[1] ?? state;
      break;
    } catch {
      // Ask the next master.
    }
  }
  return { state, nodes };
}
