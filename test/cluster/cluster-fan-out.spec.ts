import { RedisService } from '../../lib/client/redis.service';
import { ClusterPool } from '../../lib/cluster/cluster-pool';
import {
  ClusterError,
  ClusterFanOutError,
  ResponseError,
  TimeoutError,
} from '../../lib/errors/redis-pool.errors';
import { useRedisCluster } from '../harness';
import { uniqueName, watchUnhandledRejections } from '../pool/pool-checks';
import { calls, expectClusterClosed, untilPoolKnowsEveryNode } from './cluster-split-checks';

// Fault timings (kills, failovers, migrations) on a loaded CI machine: a test that loses a race with the
// machine's load runs again from its own set-up; a real failure fails every attempt.
jest.retryTimes(2, { logErrorsBeforeRetry: true });

describe('commands sent to every master or node (FLUSHALL, DBSIZE, SCRIPT LOAD...), one master frozen', () => {
  watchUnhandledRejections();
  // Failure detection far away: a frozen master stays the master while the test looks at it.
  const cluster = useRedisCluster({ nodeTimeoutMs: 60_000 });
  const clientName = uniqueName('fan-out');
  let pool: ClusterPool;
  let redis: RedisService;

  beforeEach(async () => {
    pool = new ClusterPool({
      nodes: cluster().seeds(),
      clientName,
      refreshIntervalMs: 0,
      commandTimeoutMs: 3000,
    });
    redis = new RedisService(pool);
    await redis.executeCommand('FLUSHALL');
  });
  afterEach(async () => {
    for (const node of cluster().nodes) if (node.frozen) node.resume();
    await expectClusterClosed(pool, cluster(), clientName);
  });

  it('one master frozen: FLUSHALL and DBSIZE fail with ClusterFanOutError naming that node, not a silent partial success', async () => {
    await Promise.all(Array.from({ length: 60 }, (_, i) => redis.set(`frozen:${i}`, 'x')));
    const masters = await cluster().masters();
    const frozen = masters[2];
    const others = masters.filter((node) => node !== frozen);
    const address = `127.0.0.1:${frozen.port}`;
    frozen.freeze();
    try {
      const failure = await redis.executeCommand('FLUSHALL').catch((error: unknown) => error);
      expect(failure).toBeInstanceOf(ClusterFanOutError);
      expect(failure).toBeInstanceOf(ClusterError);
      const fanOut = failure as ClusterFanOutError;
      expect(fanOut.command).toBe('FLUSHALL');
      expect(fanOut.failed.map(({ node }) => node)).toEqual([address]);
      expect(fanOut.failed[0].error).toBeInstanceOf(TimeoutError);
      expect([...fanOut.succeeded].sort()).toEqual(
        others.map(({ port }) => `127.0.0.1:${port}`).sort(),
      );
      expect(fanOut.message).toContain(
        `FLUSHALL failed on 1 of 3 masters: ${address} (TimeoutError`,
      );
      // The others did run it.
      for (const node of others) expect(Number(await node.cli('DBSIZE'))).toBe(0);

      const size = await redis.executeCommand('DBSIZE').catch((error: unknown) => error);
      expect(size).toBeInstanceOf(ClusterFanOutError);
      expect((size as ClusterFanOutError).failed.map(({ node }) => node)).toEqual([address]);
    } finally {
      frozen.resume();
    }
    // Thawed: it answers again (its FLUSHALL ran late), and the pool serves every master.
    expect(await redis.executeCommand('DBSIZE')).toBe(0);
  }, 60_000);

  it('a command every node refuses alike is its own error, not a fan-out failure', async () => {
    // The frozen master of the test before may still be resyncing its replica; a full resync would empty the
    // replica's script cache after the SCRIPT LOAD below (one CI run saw SCRIPT EXISTS 0 on one node).
    await untilPoolKnowsEveryNode(pool, cluster());
    const refused = await redis
      .executeCommand('FLUSHALL', 'BOGUS')
      .catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(ResponseError);
    expect(refused).not.toBeInstanceOf(ClusterFanOutError);
    expect((refused as ResponseError).code).toBe('ERR');
    const sha = await redis.executeCommand('SCRIPT', 'LOAD', 'return 1');
    const known = pool.toJSON().nodes;
    const loaded = await Promise.all(
      cluster().nodes.map(async (node) => [
        `127.0.0.1:${node.port}`,
        (await node.cli('SCRIPT', 'EXISTS', String(sha))).trim(),
      ]),
    );
    // Every node has it; the pool's view is in the message if one does not.
    expect({ loaded: Object.fromEntries(loaded), known }).toEqual({
      loaded: Object.fromEntries(loaded.map(([address]) => [address, '1'])),
      known,
    });
  }, 30_000);
});

describe('commands sent to every master or node, across a failover', () => {
  watchUnhandledRejections();
  // Quick failure detection and elections: CLUSTER FAILOVER completes in a moment.
  const cluster = useRedisCluster();
  const clientName = uniqueName('fan-out');
  let pool: ClusterPool;
  let redis: RedisService;

  beforeEach(async () => {
    pool = new ClusterPool({
      nodes: cluster().seeds(),
      clientName,
      refreshIntervalMs: 0,
      commandTimeoutMs: 3000,
    });
    redis = new RedisService(pool);
    await redis.executeCommand('FLUSHALL');
  });
  afterEach(async () => {
    for (const node of cluster().nodes) if (node.frozen) node.resume();
    await expectClusterClosed(pool, cluster(), clientName);
  });

  it('after a failover the pool has not heard of, the demoted master (READONLY) is followed to its successor, each shard counted once', async () => {
    await Promise.all(Array.from({ length: 90 }, (_, i) => redis.set(`fan:${i}`, 'x')));
    expect(await redis.executeCommand('DBSIZE')).toBe(90);
    const replica = (await cluster().replicas())[0];
    const demoted = await cluster().masterOf(replica);
    await cluster().failover(replica);
    // The pool still takes `demoted` for a master (no refresh yet): FLUSHALL there answers READONLY.
    const refusedBefore = await calls(cluster(), demoted.port, 'flushall', 'rejected_calls');
    expect(await redis.executeCommand('FLUSHALL')).toBe('OK');
    // Refused there at least once (again if the retry came before the refresh, on a loaded machine).
    expect(
      (await calls(cluster(), demoted.port, 'flushall', 'rejected_calls')) - refusedBefore,
    ).toBeGreaterThanOrEqual(1);
    const masters = await cluster().masters();
    expect(masters).toContain(replica);
    for (const node of masters) expect(Number(await node.cli('DBSIZE'))).toBe(0);
    // The shard that answered from its old master is not asked again through its new one: no double count.
    await Promise.all(Array.from({ length: 30 }, (_, i) => redis.set(`fan:${i}`, 'y')));
    expect(await redis.executeCommand('DBSIZE')).toBe(30);
    await cluster().failover(demoted);
  }, 90_000);
});
