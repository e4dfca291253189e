import { RedisService } from '../../lib/client/redis.service';
import { ClusterPool } from '../../lib/cluster/cluster-pool';
import { keySlot } from '../../lib/cluster/hash-slot';
import {
  ClusterError,
  ClusterSplitError,
  ConfigurationError,
  TimeoutError,
} from '../../lib/errors/redis-pool.errors';
import { RedisPoolModule } from '../../lib/nest/redis-pool.module';
import { useRedisCluster, type RedisClusterHandle } from '../harness';
import { bootApp, closeApps } from '../nest/nest-helpers';
import { sleep, uniqueName, watchUnhandledRejections } from '../pool/pool-checks';
import { calls, callsEverywhere, expectClusterClosed } from './cluster-split-checks';

/** Keys by the port of the master that owns their slot. */
async function byOwner(
  cluster: RedisClusterHandle,
  keys: readonly string[],
): Promise<Map<number, string[]>> {
  const owners = new Map<number, string[]>();
  for (const key of keys) {
    const port = (await cluster.ownerOf(keySlot(key))).port;
    owners.set(port, [...(owners.get(port) ?? []), key]);
  }
  return owners;
}

const sorted = (keys: ReadonlyArray<string | Buffer>): string[] => keys.map(String).sort();

describe('multi-key commands split per slot, on a real cluster (3 masters, 3 replicas)', () => {
  watchUnhandledRejections();
  const cluster = useRedisCluster();
  const clientName = uniqueName('split');
  let pool: ClusterPool;
  let redis: RedisService;

  beforeEach(async () => {
    pool = new ClusterPool({ nodes: cluster().seeds(), clientName, refreshIntervalMs: 0 });
    redis = new RedisService(pool);
    await redis.executeCommand('FLUSHALL');
  });
  afterEach(async () => {
    await expectClusterClosed(pool, cluster(), clientName);
  });

  it('MGET, EXISTS, TOUCH, DEL, UNLINK and a split MSET over 3 000 keys in every slot range: in order, counts summed', async () => {
    const keys = Array.from({ length: 3000 }, (_, i) => `split:${i}`);
    const slots = new Set(keys.map(keySlot));
    // Every slot range is covered: keys in the first and last thousand slots and on every master.
    expect([...slots].some((slot) => slot < 1000)).toBe(true);
    expect([...slots].some((slot) => slot > 15_384)).toBe(true);
    const values = Object.fromEntries(keys.map((key, i) => [key, `v${i}`]));
    expect(await redis.withOptions({ splitAcrossSlots: true }).mset(values)).toBe('OK');
    const masters = await cluster().masters();
    const sizes = await Promise.all(masters.map(async (node) => Number(await node.cli('DBSIZE'))));
    expect(sizes.every((size) => size > 800)).toBe(true);
    for (const key of [keys[0], keys[1234], keys[2999]]) {
      expect(await (await cluster().ownerOf(keySlot(key))).cli('GET', key)).toBe(values[key]);
    }

    // Reversed, with missing keys and a duplicate in between: each value lands in its argument's place.
    const asked = [...keys].reverse();
    asked.splice(10, 0, 'split:missing:1');
    asked.splice(2000, 0, keys[5], 'split:missing:2');
    const mgetsBefore = await callsEverywhere(cluster(), 'mget');
    const got = await redis.mget(...asked);
    expect(got).toEqual(asked.map((key) => values[key] ?? null));
    // One MGET per slot, no more: the parts are per slot (pipelined per node), not per key.
    const askedSlots = new Set(asked.map(keySlot)).size;
    expect((await callsEverywhere(cluster(), 'mget')) - mgetsBefore).toBe(askedSlots);
    expect(await redis.executeCommand('MGET', ...asked)).toEqual(got);
    expect(await pool.execute('MGET', asked.slice(0, 50))).toEqual(got.slice(0, 50));
    const buffers = await redis.mgetBuffer(keys[0], 'split:missing:1', keys[1]);
    expect(buffers).toEqual([Buffer.from('v0'), null, Buffer.from('v1')]);

    expect(await redis.exists(...asked)).toBe(3001); // the duplicate counts twice, missing keys not at all
    expect(await redis.touch(...keys)).toBe(3000);
    expect(await redis.executeCommand('TOUCH', ...keys.slice(0, 100), 'split:missing:1')).toBe(100);
    // Inside a pipeline too: each command goes through the same routing.
    expect(
      await redis.pipeline().mget(keys[0], keys[1], keys[2]).exists(keys[0], keys[1]).exec(),
    ).toEqual([['v0', 'v1', 'v2'], 2]);
    expect(await redis.del(...keys.slice(0, 1500), 'split:missing:1')).toBe(1500);
    expect(await redis.unlink(...keys.slice(1500), 'split:missing:2')).toBe(1500);
    expect(await redis.exists(...keys)).toBe(0);
    expect(await redis.executeCommand('DBSIZE')).toBe(0);
  }, 60_000);

  it('MSET across slots is refused before sending unless opted in; MSETNX, transactions, WATCH and scripts stay single-slot', async () => {
    const [a, b] = ['{alpha}k', '{beta}k'];
    expect(keySlot(a)).not.toBe(keySlot(b));
    const refused = await redis.mset({ [a]: '1', [b]: '2' }).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(ClusterError);
    expect(refused).not.toBeInstanceOf(ClusterSplitError);
    expect((refused as Error).message).toMatch(/splitAcrossSlots/);
    await expect(redis.executeCommand('MSET', a, '1', b, '2')).rejects.toBeInstanceOf(ClusterError);
    await expect(redis.executeCommand('MSETNX', a, '1', b, '2')).rejects.toThrow(/CROSSSLOT/);
    await expect(
      redis.withOptions({ splitAcrossSlots: true }).executeCommand('MSETNX', a, '1', b, '2'),
    ).rejects.toBeInstanceOf(ClusterError);
    await expect(
      redis.withOptions({ splitAcrossSlots: true }).multi().set(a, '1').set(b, '2').exec(),
    ).rejects.toThrow(/CROSSSLOT/);
    await expect(redis.watch([a, b], async () => 'ran')).rejects.toBeInstanceOf(ClusterError);
    await expect(
      redis.executeCommand('EVAL', "return redis.call('MGET', KEYS[1], KEYS[2])", 2, a, b),
    ).rejects.toBeInstanceOf(ClusterError);
    // Nothing reached the cluster.
    expect(await redis.exists(a, b)).toBe(0);

    // The pool-wide opt-in, and a call that opts back out.
    const splitting = new ClusterPool({
      nodes: cluster().seeds(),
      clientName,
      splitAcrossSlots: true,
    });
    try {
      const service = new RedisService(splitting);
      expect(await service.mset(a, '1', b, '2')).toBe('OK');
      expect(await service.mget(a, b)).toEqual(['1', '2']);
      await expect(
        service.withOptions({ splitAcrossSlots: false }).mset({ [a]: '3', [b]: '4' }),
      ).rejects.toBeInstanceOf(ClusterError);
      expect(await service.mget(a, b)).toEqual(['1', '2']);
    } finally {
      await splitting.disconnect();
    }
    expect(
      () => new ClusterPool({ nodes: cluster().seeds(), splitAcrossSlots: 'yes' as never }),
    ).toThrow(ConfigurationError);
  }, 30_000);

  it('the Nest module takes splitAcrossSlots in its cluster options', async () => {
    const { app } = await bootApp({
      imports: [
        RedisPoolModule.forRoot({
          cluster: { nodes: cluster().seeds(), splitAcrossSlots: true },
          clientName: `${clientName}-nest`,
        }),
      ],
    });
    try {
      const service = app.get(RedisService);
      expect(await service.mset({ '{alpha}n': '1', '{beta}n': '2' })).toBe('OK');
      expect(await service.mget('{beta}n', '{alpha}n')).toEqual(['2', '1']);
    } finally {
      await closeApps();
    }
  }, 30_000);

  it('each per-slot part follows MOVED like a single command, and the map learns the new owner', async () => {
    const keys = Array.from({ length: 60 }, (_, i) => `moved:${i}`);
    const values = Object.fromEntries(keys.map((key, i) => [key, `m${i}`]));
    await redis.withOptions({ splitAcrossSlots: true }).mset(values);
    const slot = keySlot(keys[7]);
    const from = await cluster().ownerOf(slot);
    const to = (await cluster().masters()).find((node) => node !== from)!;
    // The pool does not refresh on its own (refreshIntervalMs: 0): its map is stale after this.
    await cluster().migrateSlot(slot, to);
    // The old owner runs one MGET per slot it still serves, and refuses the moved slot's once (MOVED).
    const stillThere = new Set<number>();
    for (const key of keys) {
      if (keySlot(key) !== slot && (await cluster().ownerOf(keySlot(key))) === from) {
        stillThere.add(keySlot(key));
      }
    }
    const ran = () => calls(cluster(), from.port, 'mget');
    const refused = () => calls(cluster(), from.port, 'mget', 'rejected_calls');
    const [ranBefore, refusedBefore] = [await ran(), await refused()];
    expect(await redis.mget(...keys)).toEqual(keys.map((key) => values[key]));
    expect((await ran()) - ranBefore).toBe(stillThere.size);
    expect((await refused()) - refusedBefore).toBe(1);
    // The map learned the new owner: the second time the moved slot's part goes straight there.
    expect(await redis.mget(...keys)).toEqual(keys.map((key) => values[key]));
    expect((await ran()) - ranBefore).toBe(2 * stillThere.size);
    expect((await refused()) - refusedBefore).toBe(1);
    expect(await redis.exists(...keys)).toBe(60);
    const rewritten = Object.fromEntries(keys.map((key) => [key, `${key}!`]));
    expect(await redis.withOptions({ splitAcrossSlots: true }).mset(rewritten)).toBe('OK');
    expect(await to.cli('GET', keys[7])).toBe(`${keys[7]}!`);
    expect(await redis.del(...keys)).toBe(60);
    await cluster().migrateSlot(slot, from);
  }, 60_000);
});

describe('a split MSET with one master frozen (SIGSTOP)', () => {
  watchUnhandledRejections();
  // Failure detection far away, so the frozen master is not failed over while the test looks at it.
  const cluster = useRedisCluster({ nodeTimeoutMs: 60_000 });
  const clientName = uniqueName('split-frozen');

  it('fails with ClusterSplitError naming the keys written, not written and unknown; nothing is left open', async () => {
    const keys = Array.from({ length: 40 }, (_, i) => `frozen:${i}`);
    const owners = await byOwner(cluster(), keys);
    const masters = await cluster().masters();
    const frozen = masters[1];
    const onFrozen = owners.get(frozen.port) ?? [];
    const elsewhere = keys.filter((key) => !onFrozen.includes(key));
    expect(onFrozen.length).toBeGreaterThan(0);
    const seeds = masters
      .filter((node) => node !== frozen)
      .map(({ port }) => ({ host: '127.0.0.1', port }));
    const warm = new ClusterPool({
      nodes: seeds,
      clientName,
      commandTimeoutMs: 1500,
      connectTimeoutMs: 1000,
      splitAcrossSlots: true,
      refreshIntervalMs: 0,
    });
    const cold = new ClusterPool({
      nodes: seeds,
      clientName: `${clientName}-cold`,
      commandTimeoutMs: 1500,
      connectTimeoutMs: 500,
      splitAcrossSlots: true,
      refreshIntervalMs: 0,
    });
    const values = Object.fromEntries(keys.map((key) => [key, 'v']));
    try {
      // The warm pool has a connection to every master; the cold one has not met the frozen one yet.
      expect(await warm.execute('MGET', keys)).toEqual(keys.map(() => null));
      expect(await cold.execute('GET', [elsewhere[0]])).toBeNull();
      frozen.freeze();

      const lost = await new RedisService(warm).mset(values).catch((error: unknown) => error);
      expect(lost).toBeInstanceOf(ClusterSplitError);
      expect(lost).toBeInstanceOf(ClusterError);
      const split = lost as ClusterSplitError;
      expect(split.command).toBe('MSET');
      expect(sorted(split.succeeded)).toEqual(sorted(elsewhere));
      // Written to the frozen master's socket, never answered: it may yet run.
      expect(sorted(split.uncertain)).toEqual(sorted(onFrozen));
      expect(split.failed).toEqual([]);
      expect(split.errors.every((error) => error instanceof TimeoutError)).toBe(true);
      expect(split.message).toMatch(/MSET split over \d+ slots failed in \d+/);
      expect(split.message).toContain(`${elsewhere.length} keys written`);
      for (const key of elsewhere.slice(0, 5)) {
        expect(await (await cluster().ownerOf(keySlot(key))).cli('GET', key)).toBe('v');
      }

      // Never sent (no connection to the frozen master could be made): not written, for sure.
      const refused = await new RedisService(cold)
        .mset(Object.fromEntries(keys.map((key) => [key, 'w'])))
        .catch((error: unknown) => error);
      expect(refused).toBeInstanceOf(ClusterSplitError);
      const notSent = refused as ClusterSplitError;
      expect(sorted(notSent.failed)).toEqual(sorted(onFrozen));
      expect(sorted(notSent.succeeded)).toEqual(sorted(elsewhere));
      expect(notSent.uncertain).toEqual([]);
      expect(notSent.message).toContain(`${onFrozen.length} not`);
    } finally {
      if (frozen.frozen) frozen.resume();
    }
    // Thawed: the frozen master's keys hold the written MSET's value or nothing, never the unsent one's.
    let after: unknown[] = [];
    for (let i = 0; i < 50; i++) {
      after = await warm.execute<unknown[]>('MGET', keys).catch(() => []);
      if (after.length > 0) break;
      await sleep(100);
    }
    keys.forEach((key, i) => {
      if (onFrozen.includes(key)) expect([null, 'v']).toContain(after[i]);
      else expect(after[i]).toBe('w');
    });
    await expectClusterClosed(warm, cluster(), clientName);
    await expectClusterClosed(cold, cluster(), `${clientName}-cold`);
  }, 60_000);
});
