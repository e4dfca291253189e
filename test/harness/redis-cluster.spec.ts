import { existsSync } from 'node:fs';

import {
  CLUSTER_SLOT_COUNT,
  startRedisCluster,
  useRedisCluster,
  type RedisClusterHandle,
  type RedisServerHandle,
} from './index';

const SLOW_TEST_MS = 60_000;

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Finds the replica that follows `master` according to the replicas' own ROLE. */
async function replicaOf(
  cluster: RedisClusterHandle,
  master: RedisServerHandle,
): Promise<RedisServerHandle> {
  for (const replica of await cluster.replicas()) {
    if ((await cluster.masterOf(replica)) === master) return replica;
  }
  throw new Error(`no replica follows port ${master.port}`);
}

/** Writes `count` keys sharing the hash tag `{tag}` on the master that owns their slot. */
async function seedKeys(
  cluster: RedisClusterHandle,
  tag: string,
  count: number,
): Promise<{ slot: number; keys: string[] }> {
  const slot = await cluster.keySlot(`{${tag}}`);
  const keys = Array.from({ length: count }, (_, i) => `{${tag}}:${i}`);
  const owner = await cluster.ownerOf(slot);
  await expect(owner.cli('MSET', ...keys.flatMap((key) => [key, `v-${key}`]))).resolves.toBe('OK');
  return { slot, keys };
}

describe('redis cluster with replicas', () => {
  const cluster = useRedisCluster();

  test('forms 3 masters and 3 synced replicas covering every slot', async () => {
    const masters = await cluster().masters();
    const replicas = await cluster().replicas();
    expect(cluster().nodes).toHaveLength(6);
    expect(masters).toHaveLength(3);
    expect(replicas).toHaveLength(3);
    expect(cluster().seeds()).toEqual(
      cluster().nodes.map((node) => ({ host: '127.0.0.1', port: node.port })),
    );
    const followed = await Promise.all(replicas.map((replica) => cluster().masterOf(replica)));
    expect(new Set(followed)).toEqual(new Set(masters));

    for (const node of cluster().nodes) {
      const info = await node.cli('CLUSTER', 'INFO');
      expect(info).toContain('cluster_state:ok');
      expect(info).toContain(`cluster_slots_ok:${CLUSTER_SLOT_COUNT}`);
    }
    for (const replica of replicas) {
      expect(await replica.cli('INFO', 'replication')).toContain('master_link_status:up');
    }
    const ids = await Promise.all(cluster().nodes.map((node) => cluster().nodeId(node)));
    expect(new Set(ids).size).toBe(6);
    expect(ids.every((id) => /^[0-9a-f]{40}$/.test(id))).toBe(true);
  });

  test('migrateSlot() moves a slot with its keys, answering ASK until it is finalized', async () => {
    const { slot, keys } = await seedKeys(cluster(), 'mig', 25);
    const source = await cluster().ownerOf(slot);
    const target = (await cluster().masters()).find((node) => node !== source)!;
    const firstKey = keys[0]!;
    let duringMigration: { source: string; target: string } | undefined;

    await cluster().migrateSlot(slot, target, {
      batchSize: 5,
      pauseBetweenKeysMs: 10,
      beforeFinalize: async () => {
        duringMigration = {
          source: await source.cli('GET', firstKey),
          target: await target.cli('GET', firstKey),
        };
      },
    });

    // Moved keys are redirected with ASK by the source; the target wants ASKING first.
    expect(duringMigration).toEqual({
      source: `ASK ${slot} 127.0.0.1:${target.port}`,
      target: `MOVED ${slot} 127.0.0.1:${source.port}`,
    });
    expect(await cluster().ownerOf(slot)).toBe(target);
    await cluster().waitForConvergence();
    expect(await target.cli('CLUSTER', 'COUNTKEYSINSLOT', String(slot))).toBe('25');
    expect(await source.cli('CLUSTER', 'COUNTKEYSINSLOT', String(slot))).toBe('0');
    expect(await target.cli('GET', firstKey)).toBe(`v-${firstKey}`);
    expect(await source.cli('GET', firstKey)).toBe(`MOVED ${slot} 127.0.0.1:${target.port}`);
    expect(await source.cli('-c', 'GET', keys[24]!)).toBe(`v-${keys[24]}`);
  });

  test('failover() promotes a replica and demotes its master to its replica', async () => {
    const replica = (await cluster().replicas())[0]!;
    const oldMaster = await cluster().masterOf(replica);

    await cluster().failover(replica);

    expect(await cluster().masters()).toContain(replica);
    expect(await cluster().replicas()).toContain(oldMaster);
    expect(await cluster().masterOf(oldMaster)).toBe(replica);
  });

  test(
    'a SIGKILLed master is replaced by its replica and rejoins as a replica after restart()',
    async () => {
      const { slot, keys } = await seedKeys(cluster(), 'kill', 1);
      const victim = await cluster().ownerOf(slot);
      const heir = await replicaOf(cluster(), victim);
      // WAIT makes sure the write reached the replica before the crash.
      expect(await victim.cli('WAIT', '1', '2000')).toBe('1');

      await victim.kill();
      await cluster().waitForState('ok');
      await cluster().waitForConvergence();

      expect(await cluster().ownerOf(slot)).toBe(heir);
      expect(await cluster().masters()).toContain(heir);
      expect(await heir.cli('GET', keys[0]!)).toBe(`v-${keys[0]}`);

      await victim.restart();
      await cluster().waitForRole(victim, 'replica');
      await cluster().waitForState('ok');
      await cluster().waitForConvergence();
      expect(await cluster().masterOf(victim)).toBe(heir);
      expect(await cluster().replicas()).toContain(victim);
      expect(await cluster().nodeId(victim)).toBe(
        (await victim.cli('--json', 'CLUSTER', 'MYID')).replace(/"/g, ''),
      );
    },
    SLOW_TEST_MS,
  );
});

describe('redis cluster without replicas', () => {
  test(
    'goes fail when a master dies, ok after restart(), and dispose() leaves nothing behind',
    async () => {
      const cluster = await startRedisCluster({ replicasPerMaster: 0 });
      try {
        expect(await cluster.masters()).toHaveLength(3);
        expect(await cluster.replicas()).toHaveLength(0);
        const victim = cluster.nodes[0]!;

        await victim.kill();
        await cluster.waitForState('fail');
        await victim.restart();
        await cluster.waitForState('ok');
        await cluster.waitForConvergence();
      } catch (error) {
        await cluster.dispose();
        throw error;
      }

      const pids = cluster.nodes.map((node) => node.pid);
      const dirs = cluster.nodes.map((node) => node.dir);
      await cluster.dispose();
      expect(pids.every((pid) => pid !== undefined)).toBe(true);
      expect(pids.filter((pid) => isAlive(pid!))).toEqual([]);
      expect(dirs.filter((dir) => existsSync(dir))).toEqual([]);
      expect(cluster.nodes.every((node) => !node.running)).toBe(true);
    },
    SLOW_TEST_MS,
  );

  test('rejects fewer than 3 masters before starting anything', async () => {
    await expect(startRedisCluster({ masters: 2 })).rejects.toThrow(/at least 3 masters/);
  });
});
