import { RedisService } from '../../lib/client/redis.service';
import { ClusterPool } from '../../lib/cluster/cluster-pool';
import { keySlot } from '../../lib/cluster/hash-slot';
import { ConnectionError, RedisError, TimeoutError } from '../../lib/errors/redis-pool.errors';
import { useRedisCluster, type RedisClusterHandle } from '../harness';
import { sleep, watchUnhandledRejections } from '../pool/pool-checks';

/**
 * The cluster changing under load, on a real 3+3 cluster: live resharding (ASK, then MOVED), a coordinated
 * failover, and a master killed until its replica takes over. Every caller checks it gets its own replies.
 */

interface LoadReport {
  ok: number;
  /** `ok` by hash tag, so progress on the slots a change moved can be told apart. */
  okByTag: Map<string, number>;
  mismatched: number;
  /** Errors by class name; anything but a typed RedisError counts as untyped. */
  errors: Map<string, number>;
  /** INCRs that failed after they may have run, per caller. */
  maybe: number[];
  /** INCRs acknowledged, per caller. */
  acked: number[];
}

/**
 * `callers` loops, each alternating SET/GET of its own value and INCR of its own counter on keys in the slots
 * `tags` name, until `stop()` is called.
 */
function startLoad(pool: ClusterPool, callers: number, tags: string[], run: string) {
  const report: LoadReport = {
    ok: 0,
    okByTag: new Map(tags.map((tag) => [tag, 0])),
    mismatched: 0,
    errors: new Map(),
    maybe: new Array<number>(callers).fill(0),
    acked: new Array<number>(callers).fill(0),
  };
  let running = true;
  const fail = (error: unknown): void => {
    const name = error instanceof RedisError ? error.constructor.name : 'untyped';
    report.errors.set(name, (report.errors.get(name) ?? 0) + 1);
  };
  const loops = Array.from({ length: callers }, async (_, id) => {
    const tag = tags[id % tags.length];
    const valueKey = `{${tag}}${run}:value:${id}`;
    const counterKey = `{${tag}}${run}:counter:${id}`;
    for (let round = 0; running; round++) {
      const value = `${id}:${round}`;
      try {
        await pool.executeCommand('SET', valueKey, value);
        const read = await pool.executeCommand('GET', valueKey);
        if (read === value) {
          report.ok++;
          report.okByTag.set(tag, (report.okByTag.get(tag) ?? 0) + 1);
        } else report.mismatched++;
      } catch (error) {
        fail(error);
      }
      try {
        await pool.executeCommand('INCR', counterKey);
        report.acked[id]++;
      } catch (error) {
        fail(error);
        const mayHaveRun =
          (error instanceof ConnectionError || error instanceof TimeoutError) &&
          error.commandMayHaveRun;
        if (mayHaveRun) report.maybe[id]++;
        await sleep(5);
      }
    }
  });
  return {
    report,
    async stop(): Promise<LoadReport> {
      running = false;
      await Promise.all(loops);
      return report;
    },
  };
}

/** Each caller's counter as the cluster holds it now. */
async function counters(
  pool: ClusterPool,
  callers: number,
  tags: string[],
  run: string,
): Promise<number[]> {
  return Promise.all(
    Array.from({ length: callers }, async (_, id) =>
      Number(await pool.executeCommand('GET', `{${tags[id % tags.length]}}${run}:counter:${id}`)),
    ),
  );
}

async function commandCalls(
  cluster: RedisClusterHandle,
  port: number,
  name: string,
): Promise<number> {
  const info = await cluster.nodeByPort(port).cli('INFO', 'commandstats');
  return Number(new RegExp(`cmdstat_${name}:calls=(\\d+)`).exec(info)?.[1] ?? 0);
}

describe('ClusterPool while the cluster changes under load', () => {
  watchUnhandledRejections();
  const cluster = useRedisCluster({ nodeTimeoutMs: 1000 });
  const tags = ['alpha', 'beta', 'gamma', 'delta'];
  let pool: ClusterPool;

  beforeEach(() => {
    pool = new ClusterPool({ nodes: cluster().seeds(), commandTimeoutMs: 15_000 });
  });
  afterEach(async () => {
    await pool.disconnect();
  }, 60_000);

  it('live resharding of a slot: ASK while it migrates, MOVED after, no reply lost or mismatched', async () => {
    const slot = keySlot(`{${tags[0]}}`);
    const from = await cluster().ownerOf(slot);
    const masters = await cluster().masters();
    const to = masters.find((node) => node !== from)!;
    const asksBefore = await commandCalls(cluster(), to.port, 'asking');
    const load = startLoad(pool, 40, [tags[0]], 'reshard');
    await sleep(200);
    await cluster().migrateSlot(slot, to, { batchSize: 5, pauseBetweenKeysMs: 20 });
    await sleep(300);
    const report = await load.stop();
    expect(report.mismatched).toBe(0);
    expect(Object.fromEntries(report.errors)).toEqual({});
    expect(report.ok).toBeGreaterThan(100);
    expect(await commandCalls(cluster(), to.port, 'asking')).toBeGreaterThan(asksBefore);
    expect(await counters(pool, 40, [tags[0]], 'reshard')).toEqual(report.acked);
    // The map followed the MOVED: commands for the slot now go straight to the new owner.
    const getsBefore = await commandCalls(cluster(), from.port, 'get');
    await pool.executeCommand('GET', `{${tags[0]}}reshard:value:0`);
    expect(await commandCalls(cluster(), from.port, 'get')).toBe(getsBefore);
  }, 60_000);

  it('sharded pub/sub follows its slot when the cluster moves it', async () => {
    const redis = new RedisService(pool);
    const channel = '{news}shard';
    const slot = keySlot(channel);
    const messages: string[] = [];
    const subscription = await redis.ssubscribe(channel, (message) => messages.push(message));
    await redis.executeCommand('SPUBLISH', channel, 'before');
    const from = await cluster().ownerOf(slot);
    const to = (await cluster().masters()).find((node) => node !== from)!;
    await cluster().migrateSlot(slot, to);
    // The old owner sends SUNSUBSCRIBE for the moved slot; the subscriber re-leases on the new owner.
    for (let i = 0; i < 100 && !messages.some((m) => m.startsWith('after')); i++) {
      await redis.executeCommand('SPUBLISH', channel, `after-${i}`);
      await sleep(50);
    }
    expect(messages[0]).toBe('before');
    expect(messages.some((m) => m.startsWith('after'))).toBe(true);
    const owner = await cluster().ownerOf(slot);
    const subscribers = await owner.clientList();
    expect(subscribers.some((client) => client.cmd === 'ssubscribe')).toBe(true);
    await subscription.unsubscribe();
  }, 60_000);

  it('CLUSTER FAILOVER of a replica under load: no reply lost, mismatched or counted twice, and the moved slots serve again after it', async () => {
    // Fail over the master of the first tag's slot, so that some of the load must follow the new master.
    const moved = tags[0];
    const slot = keySlot(`{${moved}}`);
    const oldMaster = await cluster().ownerOf(slot);
    const replicas = await cluster().replicas();
    const masters = await Promise.all(replicas.map((node) => cluster().masterOf(node)));
    const replica = replicas[masters.indexOf(oldMaster)];
    expect(replica).toBeDefined();
    const load = startLoad(pool, 40, tags, 'failover');
    await sleep(300);
    await cluster().failover(replica);
    // The failover is complete (the harness saw the roles swap and every node agree): count from here.
    expect(await cluster().ownerOf(slot)).toBe(replica);
    const atFailover = new Map(load.report.okByTag);
    const okAtFailover = load.report.ok;
    const since = (tag: string) => (load.report.okByTag.get(tag) ?? 0) - (atFailover.get(tag) ?? 0);
    // Each caller has at most one SET/GET pair straddling this moment (10 per tag), so 50 per tag means pairs
    // sent after the failover completed.
    const until = Date.now() + 15_000;
    while (tags.some((tag) => since(tag) < 50) && Date.now() < until) await sleep(50);
    const report = await load.stop();
    expect(report.mismatched).toBe(0);
    expect(report.errors.get('untyped')).toBeUndefined();
    // Every tag, the failed-over one included, kept getting its own replies after the failover.
    expect(Object.fromEntries(tags.map((tag) => [tag, since(tag) >= 50]))).toEqual(
      Object.fromEntries(tags.map((tag) => [tag, true])),
    );
    expect(report.ok - okAtFailover).toBeGreaterThanOrEqual(200);
    const values = await counters(pool, 40, tags, 'failover');
    values.forEach((value, id) => {
      expect(value).toBeGreaterThanOrEqual(report.acked[id]);
      expect(value).toBeLessThanOrEqual(report.acked[id] + report.maybe[id]);
    });
  }, 60_000);

  it('SIGKILL of a master: commands wait for its replica to take over, typed errors only, then it rejoins', async () => {
    const masters = await cluster().masters();
    const victim = masters[0];
    const load = startLoad(pool, 40, tags, 'kill');
    await sleep(300);
    await victim.kill();
    await cluster().waitForState('ok', 20_000);
    await cluster().waitForConvergence(20_000);
    await sleep(1000);
    const midway = load.report.ok;
    await sleep(500);
    expect(load.report.ok).toBeGreaterThan(midway);
    const report = await load.stop();
    expect(report.mismatched).toBe(0);
    expect(report.errors.get('untyped')).toBeUndefined();
    const values = await counters(pool, 40, tags, 'kill');
    // Asynchronous replication may lose acknowledged writes on a crash; never may a write count twice.
    values.forEach((value, id) => {
      expect(value).toBeLessThanOrEqual(report.acked[id] + report.maybe[id]);
    });
    await victim.restart();
    await cluster().waitForRole(victim, 'replica', 20_000);
    await cluster().waitForConvergence(20_000);
    // Once every node stops flagging it as failed, a refresh puts it back in the map, as a replica.
    let role: string | undefined;
    for (let i = 0; i < 100 && role !== 'replica'; i++) {
      await pool.refresh();
      const health = await pool.health(2000);
      expect(health.state).toBe('ok');
      role = health.nodes.find((node) => node.address.endsWith(`:${victim.port}`))?.role;
      if (role !== 'replica') await sleep(100);
    }
    expect(role).toBe('replica');
  }, 60_000);
});
