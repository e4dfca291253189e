import { ClusterPool } from '../../lib/cluster/cluster-pool';
import { keySlot } from '../../lib/cluster/hash-slot';
import { ConnectionError, RedisError, TimeoutError } from '../../lib/errors/redis-pool.errors';
import {
  startTcpProxy,
  useRedisCluster,
  type RedisClusterHandle,
  type RedisServerHandle,
  type TcpProxy,
} from '../harness';
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
  /** `ok` per caller. */
  okBy: number[];
  mismatched: number;
  errors: Map<string, number>;
  acked: number[];
  maybe: number[];
}

function startLoad(pool: ClusterPool, callers: number, tag: string, run: string) {
  const report: Report = {
    ok: 0,
    okBy: new Array<number>(callers).fill(0),
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
        if ((await pool.executeCommand('GET', `{${tag}}${run}:v:${id}`)) === value) {
          report.ok++;
          report.okBy[id]++;
        } else report.mismatched++;
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

// A master frozen by SIGSTOP on a loaded CI machine may not have replicated its last acknowledged writes when its
// replica is promoted (Redis replication is asynchronous): such a run starts again from its own set-up; a client
// that mis-delivers fails every attempt.
jest.retryTimes(2, { logErrorsBeforeRetry: true });

describe('ClusterPool when a master stops answering (SIGSTOP)', () => {
  watchUnhandledRejections();
  const cluster = useRedisCluster({ nodeTimeoutMs: 1000 });
  let pool: ClusterPool | undefined;
  let frozen: RedisServerHandle | undefined;

  beforeEach(async () => {
    // A retried test starts from empty keys: its INCR counters must count this attempt's calls alone (a CI run
    // compared three attempts' increments with the last attempt's acknowledgements).
    await Promise.all((await cluster().masters()).map((node) => node.cli('FLUSHALL')));
  }, 30_000);

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
    const okAtPromotion = [...load.report.okBy];
    // Every caller works again after the promotion (each had one command in flight when the master froze).
    const progressed = () => load.report.okBy.filter((ok, id) => ok > okAtPromotion[id]).length;
    const until = Date.now() + 10_000;
    while (progressed() < 50 && Date.now() < until) await sleep(50);
    const report = await load.stop();
    expect(report.mismatched).toBe(0);
    expect(report.errors.get('untyped')).toBeUndefined();
    expect(progressed()).toBe(50);
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

  it('a master the network black-holes while the cluster fails it over: callers move on, none waits out its deadline', async () => {
    // The pool reaches every node only through a proxy (natMap); the victim's proxy then drops every byte.
    const proxies = new Map<number, TcpProxy>();
    for (const node of cluster().nodes) {
      proxies.set(node.port, await startTcpProxy({ host: node.host, port: node.port }));
    }
    try {
      pool = new ClusterPool({
        nodes: [...proxies.values()].map((proxy) => ({ host: proxy.host, port: proxy.port })),
        natMap: Object.fromEntries(
          [...proxies].map(([port, proxy]) => [
            `127.0.0.1:${port}`,
            { host: proxy.host, port: proxy.port },
          ]),
        ),
        commandTimeoutMs: 15_000,
        clientName: CLIENT_NAME,
      });
      const tag = 'hole';
      const victim = await cluster().ownerOf(keySlot(`{${tag}}`));
      const replicas = await cluster().replicas();
      const owners = await Promise.all(replicas.map((node) => cluster().masterOf(node)));
      const successor = replicas[owners.indexOf(victim)];
      const load = startLoad(pool, 20, tag, 'hole');
      await sleep(300);
      const blackholedAt = Date.now();
      proxies.get(victim.port)!.setMode('blackhole');
      // The cluster itself still reaches the victim: a coordinated failover demotes it to a replica.
      await cluster().failover(successor);
      const okAtFailover = load.report.ok;
      const until = Date.now() + 10_000;
      while (load.report.ok - okAtFailover < 200 && Date.now() < until) await sleep(50);
      const report = await load.stop();
      expect(report.mismatched).toBe(0);
      expect(report.errors.get('untyped')).toBeUndefined();
      expect(report.ok - okAtFailover).toBeGreaterThanOrEqual(200);
      // Every caller got its answer or its typed error long before its 15 s deadline.
      expect(Date.now() - blackholedAt).toBeLessThan(14_000);
      const counters = await Promise.all(
        Array.from({ length: 20 }, async (_, id) =>
          Number(await pool!.executeCommand('GET', `{${tag}}hole:n:${id}`)),
        ),
      );
      counters.forEach((value, id) => {
        expect(value).toBeLessThanOrEqual(report.acked[id] + report.maybe[id]);
      });
      await expectClusterPoolEmpty(pool);
      pool = undefined;
    } finally {
      for (const proxy of proxies.values()) proxy.setMode('pass');
      await pool?.disconnect();
      pool = undefined;
      await Promise.all([...proxies.values()].map((proxy) => proxy.close()));
    }
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
