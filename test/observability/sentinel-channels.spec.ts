import { RedisService } from '../../lib/client/redis.service';
import { CHANNELS } from '../../lib/observability/channels';
import { SentinelPool, type FailoverEvent } from '../../lib/sentinel/sentinel-pool';
import { useRedisSentinel } from '../harness';
import { watchUnhandledRejections } from '../pool/pool-checks';
import { eventually, recordChannels } from './channel-recorder';

describe('diagnostics channels of a sentinel pool', () => {
  watchUnhandledRejections();
  const topology = useRedisSentinel();

  it('publishes the failover with the pool name, and traces commands on the new master', async () => {
    const pool = new SentinelPool({
      sentinels: topology().sentinelAddresses(),
      masterName: topology().masterName,
      name: 'orders',
    });
    const redis = new RedisService(pool);
    const recorder = recordChannels([CHANNELS.command], [CHANNELS.sentinelFailover]);
    try {
      await redis.set('k', 'v');
      const events: FailoverEvent[] = [];
      pool.on('failover', (event: FailoverEvent) => events.push(event));
      const promoted = await topology().failover();
      await eventually(() => events.length === 1, 20_000);
      const [failover] = recorder.of(CHANNELS.sentinelFailover);
      expect(failover.context).toEqual({ poolName: 'orders', ...events[0] });
      expect(events[0].to).toBe(`${promoted.host}:${promoted.port}`);
      await redis.set('k', 'w');
      const last = recorder.of(CHANNELS.command, 'start').pop()!;
      expect(last.context).toMatchObject({
        command: 'SET',
        serverPort: promoted.port,
        poolName: 'orders',
      });
    } finally {
      recorder.stop();
      await pool.disconnect();
    }
  }, 60_000);
});
