import { ClusterPool } from '../../lib/cluster/cluster-pool';
import { keySlot } from '../../lib/cluster/hash-slot';
import { ConnectionError, RedisError, TimeoutError } from '../../lib/errors/redis-pool.errors';
import { useRedisCluster, type RedisClusterHandle, type RedisServerHandle } from '../harness';
import { sleep, watchUnhandledRejections } from '../pool/pool-checks';
import { expectClusterPoolEmpty, expectNoClients } from './cluster-closed';

/**
 * A master that stops answering without closing anything (SIGSTOP: the kernel still accepts its connections
 * and buffers what is written), on a real 3+3 cluster with a 1 s cluster-node-timeout: callers wait for the
 * replica's promotion within their deadline, nothing is sent twice, no reply reaches the wrong caller.
 */

const CLIENT_NAME = 'failover-dropped';

interface Report {
  ok: number;
  mismatched: number;
  errors: Map<string, number>;
  acked: number[];
  maybe: number[];
}

function startLoad(pool: ClusterPool, callers: number, tag: string, run: string) {
  const report: Report = {
    ok: 0,
    mismatched: 0,
    errors: new Map(),
    acked: new Array<number>(callers).fill(0),
    maybe: new Array<number>(callers).fill(0),
  };
  let running = true;
  const fail = (error: unknown): boolean => {
    const name = error instanceof RedisError ? error.constructor.name : 'untyped';
    report.errors.set(name, (report.errors.get(name) ?? 0) + 1);
    return (
      (error instanceof ConnectionError || error instanceof TimeoutError) && error.commandMayHaveRun
    );
  };
  const loops = Array.from({ length: callers }, async (_, id) => {
    for (let round = 0; running; round++) {
      const value = `${id}:${round}`;
      try {
        await pool.executeCommand('SET', `{${tag}}${run}:v:${id}`, value);
        if ((await pool.executeCommand('GET', `{${tag}}${run}:v:${id}`)) === value) report.ok++;
        else report.mismatched++;
      } catch (error) {
        fail(error);
      }
      try {
        await pool.executeCommand('INCR', `{${tag}}${run}:n:${id}`);
        report.acked[id]++;
      } catch (error) {
        if (fail(error)) report.maybe[id]++;
        await sleep(5);
      }
    }
  });
  return {
    report,
    async stop(): Promise<Report> {
      running = false;
      await Promise.all(loops);
      return report;
    },
  };
}

/** Resumes a frozen node and waits until it is back in the cluster (as a replica of its successor). */
async function thaw(cluster: RedisClusterHandle, node: RedisServerHandle): Promise<void> {
  if (!node.frozen) return;
  node.resume();
  await cluster.waitForRole(node, 'replica', 20_000);
  await cluster.waitForState('ok', 20_000);
  await cluster.waitForConvergence(20_000);
}

describe('ClusterPool when a master stops answering (SIGSTOP)', () => {
  watchUnhandledRejections();
  const cluster = useRedisCluster({ nodeTimeoutMs: 1000 });
  let pool: ClusterPool | undefined;
  let frozen: RedisServerHandle | undefined;

  afterEach(async () => {
    // Nothing left open, the frozen node included once it runs again (it then sees our sockets closed).
    if (pool !== undefined) await expectClusterPoolEmpty(pool);
    pool = undefined;
    if (frozen !== undefined) await thaw(cluster(), frozen);
    frozen = undefined;
    await expectNoClients(cluster(), CLIENT_NAME);
  }, 60_000);

  it('50 callers under load: 0 mismatches, no INCR counted twice, callers succeed after the promotion', async () => {
    pool = new ClusterPool({
      nodes: cluster().seeds(),
      commandTimeoutMs: 15_000,
      clientName: CLIENT_NAME,
    });
    const tag = 'stop';
    const victim = await cluster().ownerOf(keySlot(`{${tag}}`));
    const load = startLoad(pool, 50, tag, 'load');
    await sleep(300);
    expect(load.report.ok).toBeGreaterThan(0);
    frozen = victim;
    const frozenAt = Date.now();
    victim.freeze();
    // Callers who start once the node is known to be silent are not sent there: they wait for its successor.
    await sleep(1500);
    const late = Array.from({ length: 20 }, async (_, id) => {
      await pool!.executeCommand('SET', `{${tag}}late:${id}`, `late-${id}`);
      return pool!.executeCommand('GET', `{${tag}}late:${id}`);
    });
    await cluster().waitForState('ok', 20_000);
    const promotedAfter = Date.now() - frozenAt;
    expect(await Promise.all(late)).toEqual(Array.from({ length: 20 }, (_, id) => `late-${id}`));
    const okAtPromotion = load.report.ok;
    await sleep(1000);
    const report = await load.stop();
    expect(report.mismatched).toBe(0);
    expect(report.errors.get('untyped')).toBeUndefined();
    // Every caller kept working after the promotion (each had at most one command in flight when it froze).
    expect(report.ok - okAtPromotion).toBeGreaterThan(500);
    // The commands that were in flight on the frozen master failed when its successor took over, well before
    // their 15 s deadline: only those (one SET or INCR or GET per caller).
    const failed = [...report.errors.values()].reduce((sum, count) => sum + count, 0);
    expect(failed).toBeLessThanOrEqual(50);
    expect(promotedAfter).toBeLessThan(15_000);
    const counters = await Promise.all(
      Array.from({ length: 50 }, async (_, id) =>
        Number(await pool!.executeCommand('GET', `{${tag}}load:n:${id}`)),
      ),
    );
    counters.forEach((value, id) => {
      expect(value).toBeLessThanOrEqual(report.acked[id] + report.maybe[id]);
    });
  }, 60_000);

  it('reads in flight on the frozen master are answered by its successor, long before their deadline', async () => {
    pool = new ClusterPool({
      nodes: cluster().seeds(),
      commandTimeoutMs: 15_000,
      clientName: CLIENT_NAME,
    });
    const tag = 'inflight';
    const keys = Array.from({ length: 10 }, (_, id) => `{${tag}}r:${id}`);
    for (const key of keys) await pool.executeCommand('SET', key, `value-of-${key}`);
    await cluster().waitForReplicasSynced();
    const victim = await cluster().ownerOf(keySlot(`{${tag}}`));
    frozen = victim;
    victim.freeze();
    const startedAt = Date.now();
    // Written to the frozen master's socket at once; nothing else is sent afterwards, so the pool alone must
    // notice the silence, follow the promotion and resend these reads (read-only: safe to send again).
    const reads = await Promise.all(keys.map((key) => pool!.executeCommand('GET', key)));
    expect(reads).toEqual(keys.map((key) => `value-of-${key}`));
    expect(Date.now() - startedAt).toBeLessThan(12_000);
  }, 60_000);

  it('a pool started while a master is frozen: its connect timeouts are retried until the promotion', async () => {
    const tag = 'fresh';
    const victim = await cluster().ownerOf(keySlot(`{${tag}}`));
    frozen = victim;
    victim.freeze();
    // The frozen master accepts TCP connections but never answers the handshake: connectTimeoutMs each time.
    pool = new ClusterPool({
      nodes: cluster().seeds(),
      connectTimeoutMs: 300,
      commandTimeoutMs: 15_000,
      clientName: CLIENT_NAME,
    });
    const startedAt = Date.now();
    await pool.executeCommand('SET', `{${tag}}k`, 'v');
    expect(await pool.executeCommand('GET', `{${tag}}k`)).toBe('v');
    expect(Date.now() - startedAt).toBeLessThan(15_000);
  }, 60_000);
});
