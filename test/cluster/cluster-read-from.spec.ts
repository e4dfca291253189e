import { ClusterPool } from '../../lib/cluster/cluster-pool';
import { keySlot } from '../../lib/cluster/hash-slot';
import { ClusterError } from '../../lib/errors/redis-pool.errors';
import { useRedisCluster, type RedisServerHandle } from '../harness';
import { watchUnhandledRejections } from '../pool/pool-checks';
import { expectClusterPoolEmpty, expectNoClients } from './cluster-closed';

/**
 * `readFrom: 'preferReplica'` and `'replica'` when a shard loses its only replica, on a real 3+3 cluster. The
 * cluster-node-timeout is long (5 s) so that the pool's own view (the replica's pool is down) is tested before
 * the cluster's (the replica flagged failed in CLUSTER SHARDS), then the cluster's.
 */

async function getCalls(node: RedisServerHandle): Promise<number> {
  const info = await node.cli('INFO', 'commandstats');
  return Number(/cmdstat_get:calls=(\d+)/.exec(info)?.[1] ?? 0);
}

async function untilEveryShardHasAReplica(pool: ClusterPool): Promise<void> {
  for (let i = 0; i < 200; i++) {
    await pool.refresh();
    const shards = pool.toJSON().nodes as Array<{ replicas: string[] }>;
    if (shards.length === 3 && shards.every((shard) => shard.replicas.length === 1)) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error('the cluster never listed a replica for every shard');
}

describe("ClusterPool readFrom 'preferReplica' and 'replica' without a healthy replica", () => {
  watchUnhandledRejections();
  const cluster = useRedisCluster({ nodeTimeoutMs: 5000 });
  it('preferReplica reads from the master once the replica is gone; replica fails typed', async () => {
    const tag = '{rf}';
    const keys = Array.from({ length: 20 }, (_, i) => `${tag}k${i}`);
    const clientName = 'read-from';
    const prefer = new ClusterPool({
      nodes: cluster().seeds(),
      readFrom: 'preferReplica',
      clientName,
    });
    const strict = new ClusterPool({ nodes: cluster().seeds(), readFrom: 'replica', clientName });
    const readAll = (pool: ClusterPool) =>
      Promise.all(keys.map((key) => pool.executeCommand('GET', key)));
    const expected = keys.map((key) => `v-${key}`);
    try {
      for (const key of keys) await prefer.executeCommand('SET', key, `v-${key}`);
      await cluster().waitForReplicasSynced();
      // With a long node timeout, gossip takes a while to tell every node which nodes are replicas.
      for (const pool of [prefer, strict]) await untilEveryShardHasAReplica(pool);
      const master = await cluster().ownerOf(keySlot(tag));
      const replicas = await cluster().replicas();
      const owners = await Promise.all(replicas.map((node) => cluster().masterOf(node)));
      const replica = replicas[owners.indexOf(master)];
      // While the replica is up, both read there and not on the master.
      const masterGets = await getCalls(master);
      expect(await readAll(prefer)).toEqual(expected);
      expect(await readAll(strict)).toEqual(expected);
      expect(await getCalls(master)).toBe(masterGets);
      expect(await getCalls(replica)).toBeGreaterThanOrEqual(2 * keys.length);

      const replicaId = await cluster().nodeId(replica);
      // The cluster (and the killed node with it) is this file's own: disposed after the test.
      await replica.kill();
      // The pools see the replica's connections fail well before the cluster flags it (5 s node timeout).
      const killedAt = Date.now();
      expect(await readAll(prefer)).toEqual(expected);
      const strictError = await strict.executeCommand('GET', keys[0]).catch((e: unknown) => e);
      expect(strictError).toBeInstanceOf(ClusterError);
      expect((strictError as Error).message).toMatch(/No healthy replica serves slot \d+/);
      expect(Date.now() - killedAt).toBeLessThan(4000);
      expect(await getCalls(master)).toBeGreaterThanOrEqual(masterGets + keys.length);
      // Writes are unaffected.
      expect(await strict.executeCommand('SET', keys[0], `v-${keys[0]}`)).toBe('OK');

      // Once the cluster flags it failed, the topology has no replica for the shard: same answers.
      for (let i = 0; i < 200; i++) {
        const entries = await cluster().clusterNodes(master);
        if (entries.find((entry) => entry.id === replicaId)?.flags.includes('fail')) break;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      await Promise.all([prefer.refresh(), strict.refresh()]);
      const shard = (prefer.toJSON().nodes as Array<{ master: string; replicas: string[] }>).find(
        (entry) => entry.master.endsWith(`:${master.port}`),
      );
      expect(shard?.replicas).toEqual([]);
      expect(await readAll(prefer)).toEqual(expected);
      await expect(strict.executeCommand('GET', keys[1])).rejects.toThrow(ClusterError);
    } finally {
      await Promise.all([expectClusterPoolEmpty(prefer), expectClusterPoolEmpty(strict)]);
      await expectNoClients(cluster(), clientName);
    }
  }, 60_000);
});
