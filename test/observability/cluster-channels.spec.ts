import { ClusterPool } from '../../lib/cluster/cluster-pool';
import { keySlot } from '../../lib/cluster/hash-slot';
import { CHANNELS } from '../../lib/observability/channels';
import { useRedisCluster } from '../harness';
import { watchUnhandledRejections } from '../pool/pool-checks';
import { recordChannels } from './channel-recorder';

describe('diagnostics channels on a real cluster', () => {
  watchUnhandledRejections();
  const cluster = useRedisCluster({ masters: 3, replicasPerMaster: 0 });

  it('publishes a MOVED redirection, and traces each command on the node pool that ran it', async () => {
    const pool = new ClusterPool({ nodes: cluster().seeds(), name: 'orders' });
    const recorder = recordChannels([CHANNELS.command], [CHANNELS.clusterRedirection]);
    try {
      const key = '{obs}moved';
      await pool.executeCommand('SET', key, 'value-secret');
      const slot = keySlot(key);
      const from = await cluster().ownerOf(slot);
      const to = (await cluster().masters()).find((node) => node !== from)!;
      await cluster().migrateSlot(slot, to);
      await expect(pool.executeCommand('GET', key)).resolves.toBe('value-secret');
      const [moved] = recorder.of(CHANNELS.clusterRedirection);
      expect(moved.context).toEqual({
        kind: 'MOVED',
        slot,
        from: `${from.host}:${from.port}`,
        to: expect.stringMatching(new RegExp(`:${to.port}$`)),
      });
      const gets = recorder
        .of(CHANNELS.command, 'start')
        .filter((h) => h.context.command === 'GET');
      // The refused attempt on the old owner, then the one on the new owner.
      expect(gets.map((h) => h.context.serverPort)).toEqual([from.port, to.port]);
      expect(gets.every((h) => h.context.poolName === 'orders')).toBe(true);
      expect(JSON.stringify(recorder.heard.map((h) => h.context.args))).not.toContain(
        'value-secret',
      );
    } finally {
      recorder.stop();
      await pool.disconnect();
    }
  }, 60_000);
});
