import { RedisService } from '../../lib/client/redis.service';
import { ClusterPool } from '../../lib/cluster/cluster-pool';
import { keySlot } from '../../lib/cluster/hash-slot';
import { ClusterError } from '../../lib/errors/redis-pool.errors';
import { useRedisCluster, type RedisClusterHandle } from '../harness';
import { sleep, watchUnhandledRejections } from '../pool/pool-checks';
import { untilPoolKnowsEveryNode } from './cluster-split-checks';

/** Counts of one command in `INFO commandstats` of a node. */
async function calls(cluster: RedisClusterHandle, port: number, command: string): Promise<number> {
  const info = await cluster.nodeByPort(port).cli('INFO', 'commandstats');
  return Number(new RegExp(`cmdstat_${command}:calls=(\\d+)`).exec(info)?.[1] ?? 0);
}

describe('ClusterPool on a real cluster (3 masters, 3 replicas)', () => {
  watchUnhandledRejections();
  const cluster = useRedisCluster();
  let pool: ClusterPool;
  let redis: RedisService;

  beforeAll(async () => {
    pool = new ClusterPool({ nodes: cluster().seeds().slice(0, 1), protocol: 3 });
    redis = new RedisService(pool);
    await redis.executeCommand('FLUSHALL');
  });
  afterAll(async () => {
    await pool.disconnect();
  });

  it('discovers the topology from one seed and spreads keys over every master by slot', async () => {
    const keys = Array.from({ length: 3000 }, (_, i) => `spread:${i}`);
    await Promise.all(keys.map((key, i) => redis.set(key, `v${i}`)));
    const values = await Promise.all(keys.map((key) => redis.get(key)));
    expect(values).toEqual(keys.map((_, i) => `v${i}`));
    const masters = await cluster().masters();
    const sizes = await Promise.all(masters.map(async (node) => Number(await node.cli('DBSIZE'))));
    expect(sizes.every((size) => size > 800)).toBe(true);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(3000);
    // Each key sits on the node that owns its slot, so nothing needed a redirection.
    for (const key of keys.slice(0, 30)) {
      const owner = await cluster().ownerOf(keySlot(key));
      expect(await owner.cli('GET', key)).toBe(values[keys.indexOf(key)]);
    }
  });

  it('sends commands marked for every shard to each master and combines the replies', async () => {
    await redis.executeCommand('FLUSHALL');
    await Promise.all(Array.from({ length: 90 }, (_, i) => redis.set(`fan:${i}`, 'x')));
    expect(await redis.executeCommand('DBSIZE')).toBe(90);
    const keys = (await redis.executeCommand('KEYS', 'fan:*')) as string[];
    expect(keys.sort()).toEqual(Array.from({ length: 90 }, (_, i) => `fan:${i}`).sort());
    // SCRIPT LOAD goes to every node the cluster reports; one CI run had a replica not yet in every view.
    await untilPoolKnowsEveryNode(pool, cluster());
    const sha = await redis.executeCommand('SCRIPT', 'LOAD', 'return 1');
    const everywhere = await Promise.all(
      cluster().nodes.map((node) => node.cli('SCRIPT', 'EXISTS', String(sha))),
    );
    expect(everywhere.map((reply) => reply.trim())).toEqual(cluster().nodes.map(() => '1'));
  });

  it('refuses multi-key commands across slots before sending, and runs them within one slot', async () => {
    await expect(redis.mset({ a: '1', b: '2' })).rejects.toThrow(ClusterError);
    await expect(redis.mset({ a: '1', b: '2' })).rejects.toThrow(
      /CROSSSLOT refused before sending/,
    );
    await redis.mset({ '{user:1}name': 'ada', '{user:1}lang': 'en' });
    expect(await redis.mget('{user:1}name', '{user:1}lang')).toEqual(['ada', 'en']);
  });

  it('splits a pipeline per node and gives results back in the caller order, errors in place', async () => {
    const pipeline = redis.pipeline();
    for (let i = 0; i < 1000; i++) pipeline.set(`pipe:${i}`, `${i}`);
    pipeline.lpush('pipe:7', 'x');
    for (let i = 0; i < 1000; i++) pipeline.get(`pipe:${i}`);
    const results = await pipeline.exec();
    expect(results.slice(0, 1000)).toEqual(Array.from({ length: 1000 }, () => 'OK'));
    expect(results[1000]).toBeInstanceOf(Error);
    expect((results[1000] as Error).message).toMatch(/WRONGTYPE/);
    expect(results.slice(1001)).toEqual(Array.from({ length: 1000 }, (_, i) => `${i}`));
  });

  it('runs a transaction within one slot on a leased connection, and refuses one across slots', async () => {
    const results = await redis.multi().set('{order:9}state', 'paid').incr('{order:9}n').exec();
    expect(results).toEqual(['OK', 1]);
    await expect(redis.multi().set('x1', '1').set('x2', '2').exec()).rejects.toThrow(
      /CROSSSLOT refused before sending/,
    );
    await redis.set('{acct}balance', '100');
    const outcome = await redis.watch(['{acct}balance'], async (tx) => {
      const balance = Number(await tx.get('{acct}balance'));
      return tx
        .multi()
        .set('{acct}balance', String(balance - 30))
        .exec();
    });
    expect(outcome).toEqual(['OK']);
    expect(await redis.get('{acct}balance')).toBe('70');
  });

  it('runs blocking commands on a lease from the key owner', async () => {
    const popped = redis.blpop('{queue}jobs', 2);
    await sleep(50);
    await redis.rpush('{queue}jobs', 'job-1');
    expect(await popped).toEqual({ key: '{queue}jobs', element: 'job-1' });
  });

  it('scanIterator walks every master', async () => {
    await redis.executeCommand('FLUSHALL');
    await Promise.all(Array.from({ length: 300 }, (_, i) => redis.set(`scan:${i}`, 'x')));
    const seen = new Set<string>();
    for await (const key of redis.scanIterator({ match: 'scan:*', count: 50 })) seen.add(key);
    expect(seen.size).toBe(300);
  });

  it('delivers pub/sub across nodes, and sharded pub/sub from the slot owner', async () => {
    const messages: string[] = [];
    const sub = await redis.subscribe('news', (message) => messages.push(message));
    const shard = await redis.ssubscribe('{room:1}chat', (message) => messages.push(message));
    for (let i = 0; i < 3; i++) await redis.executeCommand('PUBLISH', 'news', `n${i}`);
    await redis.executeCommand('SPUBLISH', '{room:1}chat', 'hello');
    for (let i = 0; i < 50 && messages.length < 4; i++) await sleep(20);
    expect(messages.sort()).toEqual(['hello', 'n0', 'n1', 'n2']);
    await sub.unsubscribe();
    await shard.unsubscribe();
  });

  it('reads from replicas with readFrom: replica (READONLY), and writes to masters', async () => {
    const readers = new ClusterPool({ nodes: cluster().seeds(), readFrom: 'replica' });
    try {
      const replicas = await cluster().replicas();
      const before = await Promise.all(replicas.map((node) => calls(cluster(), node.port, 'get')));
      await readers.executeCommand('SET', 'replica:key', 'v');
      await sleep(100);
      for (let i = 0; i < 20; i++) {
        expect(await readers.executeCommand('GET', 'replica:key')).toBe('v');
      }
      const after = await Promise.all(replicas.map((node) => calls(cluster(), node.port, 'get')));
      const served = after.reduce((sum, n, i) => sum + n - before[i], 0);
      expect(served).toBe(20);
    } finally {
      await readers.disconnect();
    }
  });

  it('reports cluster_state and every node, and leaves nothing open after disconnect', async () => {
    const probe = new ClusterPool({ nodes: cluster().seeds() });
    const health = await probe.health(1000);
    expect(health.state).toBe('ok');
    expect(health.nodes).toHaveLength(6);
    expect(health.nodes.filter((node) => node.role === 'master')).toHaveLength(3);
    expect(health.nodes.every((node) => node.up)).toBe(true);
    const clientName = 'probe-closing';
    const named = new ClusterPool({ nodes: cluster().seeds(), clientName });
    await Promise.all(Array.from({ length: 50 }, (_, i) => named.executeCommand('GET', `c${i}`)));
    await Promise.all([probe.disconnect(), named.disconnect()]);
    const lists = await Promise.all(cluster().nodes.map((node) => node.clientList()));
    expect(lists.flat().filter((client) => client.name === clientName)).toEqual([]);
    expect(named.stats().total).toBe(0);
  });
});
