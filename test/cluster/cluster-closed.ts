import type { ClusterPool } from '../../lib/cluster/cluster-pool';
import type { RedisClusterHandle } from '../harness';
import { serverConnections, sleep } from '../pool/pool-checks';

/** After `disconnect()`: the cluster pool counts nothing open (every node's pool added up). */
export async function expectClusterPoolEmpty(pool: ClusterPool): Promise<void> {
  await pool.disconnect();
  expect(pool.stats()).toMatchObject({
    total: 0,
    leased: 0,
    connecting: 0,
    pending: 0,
    waiting: 0,
  });
}

/** No answering node of `cluster` lists a connection named `clientName` (each gets a moment to notice). */
export async function expectNoClients(
  cluster: RedisClusterHandle,
  clientName: string,
): Promise<void> {
  for (const node of cluster.liveNodes()) {
    for (let i = 0; i < 50 && (await serverConnections(node, clientName)) > 0; i++) await sleep(20);
    expect({ port: node.port, open: await serverConnections(node, clientName) }).toEqual({
      port: node.port,
      open: 0,
    });
  }
}
