import type { ClusterPool } from '../../lib/cluster/cluster-pool';
import type { RedisClusterHandle } from '../harness';
import { sleep } from '../pool/pool-checks';

/**
 * Calls of one command in `INFO commandstats` of a node; `rejected_calls` counts those refused before running
 * (a MOVED or ASK redirection among them).
 */
export async function calls(
  cluster: RedisClusterHandle,
  port: number,
  command: string,
  field: 'calls' | 'rejected_calls' = 'calls',
): Promise<number> {
  const info = await cluster.nodeByPort(port).cli('INFO', 'commandstats');
  const line = new RegExp(`cmdstat_${command}:([^\\r\\n]*)`).exec(info)?.[1] ?? '';
  return Number(new RegExp(`(?:^|,)${field}=(\\d+)`).exec(line)?.[1] ?? 0);
}

/** Calls of one command summed over every live, unfrozen node. */
export async function callsEverywhere(
  cluster: RedisClusterHandle,
  command: string,
): Promise<number> {
  const nodes = cluster.liveNodes().filter((node) => !node.frozen);
  const counts = await Promise.all(nodes.map((node) => calls(cluster, node.port, command)));
  return counts.reduce((a, b) => a + b, 0);
}

/**
 * Disconnects the pool and checks nothing is left: its stats at zero, and no connection named `clientName` on
 * any live node that answers.
 */
export async function expectClusterClosed(
  pool: ClusterPool,
  cluster: RedisClusterHandle,
  clientName: string,
): Promise<void> {
  await pool.disconnect();
  expect(pool.stats()).toMatchObject({ total: 0, leased: 0, connecting: 0, pending: 0 });
  const open = async (): Promise<number> => {
    const nodes = cluster.liveNodes().filter((node) => !node.frozen);
    const lists = await Promise.all(nodes.map((node) => node.clientList()));
    return lists.flat().filter((client) => client.name === clientName).length;
  };
  for (let i = 0; i < 50 && (await open()) > 0; i++) await sleep(50);
  expect(await open()).toBe(0);
}

/**
 * Refreshes `pool` until its map holds every node of `cluster`, replicas in sync: a new replica reaches each node's
 * view by gossip and then syncs, in its own time, and a node-wide command (SCRIPT LOAD) can only reach the nodes
 * the cluster reports.
 */
export async function untilPoolKnowsEveryNode(
  pool: ClusterPool,
  cluster: RedisClusterHandle,
  timeoutMs = 15_000,
): Promise<void> {
  await cluster.waitForReplicasSynced();
  const until = Date.now() + timeoutMs;
  for (;;) {
    await pool.refresh();
    const nodes = pool.toJSON().nodes as Array<{ replicas: string[] }>;
    const known = nodes.reduce((count, shard) => count + 1 + shard.replicas.length, 0);
    if (known >= cluster.liveNodes().length) return;
    if (Date.now() > until)
      throw new Error(`the pool knows ${known} nodes of ${cluster.liveNodes().length}`);
    await sleep(100);
  }
}
