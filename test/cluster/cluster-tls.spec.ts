import { ClusterPool } from '../../lib/cluster/cluster-pool';
import { keySlot, SLOT_COUNT } from '../../lib/cluster/hash-slot';
import { RedisError } from '../../lib/errors/redis-pool.errors';
import { generateTlsCerts, useRedisCluster, type RedisServerHandle } from '../harness';
import { watchUnhandledRejections } from '../pool/pool-checks';
import { expectClusterPoolEmpty, expectNoClients } from './cluster-closed';

/**
 * A real 3+3 cluster with `tls-port` and `tls-cluster yes` (bus and replication over TLS too), reached over TLS
 * only: every slot, a MOVED naming a TLS port, and certificate verification on by default.
 */

/** One key per slot, found by counting up. */
function keyPerSlot(): string[] {
  const keys = new Array<string>(SLOT_COUNT);
  let found = 0;
  for (let i = 0; found < SLOT_COUNT; i++) {
    const key = `tls:${i}`;
    const slot = keySlot(key);
    if (keys[slot] === undefined) {
      keys[slot] = key;
      found++;
    }
  }
  return keys;
}

/** GET calls a node ran or refused (MOVED counts as refused), from its plain port. */
async function getCalls(node: RedisServerHandle): Promise<number> {
  const info = await node.cli('INFO', 'commandstats');
  const stats = /cmdstat_get:calls=(\d+).*?rejected_calls=(\d+)/.exec(info);
  return stats === null ? 0 : Number(stats[1]) + Number(stats[2]);
}

describe('ClusterPool over TLS (tls-port, tls-cluster yes)', () => {
  watchUnhandledRejections();
  const cluster = useRedisCluster({ tls: true });
  const tlsPorts = () => new Set(cluster().nodes.map((node) => node.tlsPort));
  const ca = () => cluster().nodes[0].certs!.ca;

  it('serves every one of the 16384 slots, and follows a MOVED to a TLS port', async () => {
    const pool = new ClusterPool({
      nodes: cluster().tlsSeeds(),
      tls: { ca: ca() },
      clientName: 'tls-cluster',
    });
    const connectedTo: number[] = [];
    pool.on('connect', (...args: unknown[]) =>
      connectedTo.push(Number(String(args[args.length - 1]).split(':')[1])),
    );
    try {
      const keys = keyPerSlot();
      await Promise.all(keys.map((key) => pool.executeCommand('SET', key, `v-${key}`)));
      const values = await Promise.all(keys.map((key) => pool.executeCommand('GET', key)));
      expect(values.filter((value, slot) => value !== `v-${keys[slot]}`)).toEqual([]);
      expect(await pool.executeCommand('DBSIZE')).toBe(SLOT_COUNT);
      const moved = keys[1234];
      const from = await cluster().ownerOf(1234);
      const to = (await cluster().masters()).find((node) => node !== from)!;
      await cluster().migrateSlot(1234, to);
      const before = { from: await getCalls(from), to: await getCalls(to) };
      expect(await pool.executeCommand('GET', moved)).toBe(`v-${moved}`);
      // The old owner refused it with MOVED (naming the TLS port), the new owner answered it...
      expect(await getCalls(from)).toBe(before.from + 1);
      expect(await getCalls(to)).toBe(before.to + 1);
      // ...and the map followed: the next GET goes straight to the new owner.
      expect(await pool.executeCommand('GET', moved)).toBe(`v-${moved}`);
      expect(await getCalls(from)).toBe(before.from + 1);
      expect(await getCalls(to)).toBe(before.to + 2);
      expect(connectedTo.length).toBeGreaterThanOrEqual(3);
      expect(connectedTo.filter((port) => !tlsPorts().has(port))).toEqual([]);
    } finally {
      await expectClusterPoolEmpty(pool);
      await expectNoClients(cluster(), 'tls-cluster');
    }
  }, 60_000);

  it.each([
    ['no CA (tls: true)', () => true as const],
    [
      'another CA',
      async () => ({ ca: (await generateTlsCerts(`${cluster().nodes[0].dir}/other-pki`)).ca }),
    ],
  ])(
    'verifies certificates by default: %s fails typed and fast',
    async (_, tls) => {
      const pool = new ClusterPool({
        nodes: cluster().tlsSeeds(),
        tls: await tls(),
        connectTimeoutMs: 2000,
      });
      const startedAt = Date.now();
      try {
        const error = await pool.executeCommand('GET', 'k').catch((e: unknown) => e);
        expect(error).toBeInstanceOf(RedisError);
        expect(String((error as Error).message)).toMatch(/certificate/i);
        // Not retried as a transient failure until the deadline.
        expect(Date.now() - startedAt).toBeLessThan(8000);
      } finally {
        await expectClusterPoolEmpty(pool);
      }
    },
    30_000,
  );
});
