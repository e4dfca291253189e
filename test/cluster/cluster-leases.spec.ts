import { RedisService } from '../../lib/client/redis.service';
import { ClusterPool } from '../../lib/cluster/cluster-pool';
import { keySlot } from '../../lib/cluster/hash-slot';
import {
  ClusterError,
  ClusterLeaseMovedError,
  RedisError,
  ResponseError,
} from '../../lib/errors/redis-pool.errors';
import { useRedisCluster, type RedisClusterHandle } from '../harness';
import type { RedisServerHandle } from '../harness';
import { sleep, uniqueName, watchUnhandledRejections } from '../pool/pool-checks';
import { calls, expectClusterClosed } from './cluster-split-checks';

/** The master owning `key`'s slot, and another master to move it to. */
async function ownerAndOther(
  cluster: RedisClusterHandle,
  key: string,
): Promise<{ slot: number; from: RedisServerHandle; to: RedisServerHandle }> {
  const slot = keySlot(key);
  const from = await cluster.ownerOf(slot);
  const to = (await cluster.masters()).find((node) => node !== from)!;
  return { slot, from, to };
}

// Fault timings (kills, failovers, migrations) on a loaded CI machine: a test that loses a race with the
// machine's load runs again from its own set-up; a real failure fails every attempt.
jest.retryTimes(2, { logErrorsBeforeRetry: true });

describe('leases that follow their slot, on a real cluster (3 masters, 3 replicas)', () => {
  watchUnhandledRejections();
  const cluster = useRedisCluster();
  const clientName = uniqueName('leases');
  let pool: ClusterPool;
  let redis: RedisService;

  beforeEach(async () => {
    // No background refresh: after a migration the pool's map is stale until a redirection teaches it. The
    // refresh a redirection asks for is held off too (refreshMinIntervalMs), or on a loaded machine it could land
    // in the middle of a test's next migration and teach the map what the test wants a redirection to teach.
    pool = new ClusterPool({
      nodes: cluster().seeds(),
      clientName,
      refreshIntervalMs: 0,
      refreshMinIntervalMs: 60_000,
    });
    redis = new RedisService(pool);
    await redis.executeCommand('FLUSHALL');
  });
  afterEach(async () => {
    await expectClusterClosed(pool, cluster(), clientName);
  });

  it('withConnection(fn, key) whose slot moved before it ran runs again on the new owner, never failing with the MOVED', async () => {
    const key = '{lease-a}value';
    await redis.set(key, 'before');
    const { slot, from, to } = await ownerAndOther(cluster(), key);
    await cluster().migrateSlot(slot, to);
    const refusedBefore = await calls(cluster(), from.port, 'set', 'rejected_calls');
    const seen: string[] = [];
    const result = await redis.withConnection(async (client) => {
      seen.push(client.connection.address);
      await client.set(key, 'after');
      return client.get(key);
    }, key);
    expect(result).toBe('after');
    // First on the old owner (answered MOVED, nothing ran), then on the new one.
    expect(seen).toEqual([`127.0.0.1:${from.port}`, `127.0.0.1:${to.port}`]);
    expect((await calls(cluster(), from.port, 'set', 'rejected_calls')) - refusedBefore).toBe(1);
    expect(await to.cli('GET', key)).toBe('after');
    // The map learned: the next lease goes straight to the new owner; the raw pool API follows it too.
    await cluster().migrateSlot(slot, from);
    const raw: string[] = [];
    const reply = await pool.withConnection(async (connection) => {
      raw.push(connection.address);
      return connection.executeCommand('GET', key);
    }, key);
    expect(reply).toBe('after');
    expect(raw).toEqual([`127.0.0.1:${to.port}`, `127.0.0.1:${from.port}`]);
  }, 60_000);

  it('multi(), watch() and a blocking helper whose slot moved run again on the new owner, each exactly once', async () => {
    const counter = '{lease-b}counter';
    const list = '{lease-b}list';
    await redis.set(counter, '0');
    const { slot, from, to } = await ownerAndOther(cluster(), counter);
    await cluster().migrateSlot(slot, to);
    // MULTI on the old owner: the INCR is refused with MOVED while queuing, EXEC aborts, nothing ran.
    expect(await redis.multi().incr(counter).get(counter).exec()).toEqual([1, '1']);
    expect(await to.cli('GET', counter)).toBe('1');

    await cluster().migrateSlot(slot, from);
    let runs = 0;
    const watched = await redis.watch(counter, async (tx) => {
      runs++;
      const value = Number(await tx.get(counter));
      return tx
        .multi()
        .set(counter, String(value + 10))
        .exec();
    });
    expect(watched).toEqual(['OK']);
    expect(runs).toBe(1); // WATCH itself was redirected, before the callback ran
    expect(await from.cli('GET', counter)).toBe('11');

    await cluster().migrateSlot(slot, to);
    const refusedBefore = await calls(cluster(), from.port, 'blpop', 'rejected_calls');
    const pushed = sleep(300).then(() => to.cli('RPUSH', list, 'job'));
    expect(await redis.blpop(list, 5)).toEqual({ key: list, element: 'job' });
    await pushed;
    expect((await calls(cluster(), from.port, 'blpop', 'rejected_calls')) - refusedBefore).toBe(1);
    expect(await redis.exists(list)).toBe(0);
    await cluster().migrateSlot(slot, from);
  }, 60_000);

  it('a slot that moves after the lease changed something fails with ClusterLeaseMovedError, not the raw MOVED', async () => {
    const key = '{lease-c}value';
    const { slot, from, to } = await ownerAndOther(cluster(), key);
    let runs = 0;
    const failure = await redis
      .withConnection(async (client) => {
        runs++;
        await client.set(key, 'written');
        await cluster().migrateSlot(slot, to);
        return client.get(key);
      }, key)
      .catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(ClusterLeaseMovedError);
    expect(failure).toBeInstanceOf(ClusterError);
    const cause = (failure as Error).cause;
    expect(cause).toBeInstanceOf(ResponseError);
    expect((cause as ResponseError).code).toBe('MOVED');
    expect((failure as Error).message).toMatch(/after 1 of its commands had taken effect/);
    expect(runs).toBe(1); // not run twice: the SET is not repeated
    expect(await to.cli('GET', key)).toBe('written');
    // A transaction that ran on the new owner and then is asked to go on there is not refused.
    expect(await redis.multi().get(key).exec()).toEqual(['written']);
    await cluster().migrateSlot(slot, from);
  }, 60_000);

  it('while the slot migrates (ASK), leases and transactions on a key not on the source run on the importing node after ASKING', async () => {
    const key = '{lease-d}fresh';
    const txKey = '{lease-d}tx';
    const { slot, to } = await ownerAndOther(cluster(), key);
    const askingBefore = await calls(cluster(), to.port, 'asking');
    let leased: string | null = null;
    let transaction: unknown = null;
    await cluster().migrateSlot(slot, to, {
      beforeFinalize: async () => {
        // The slot is MIGRATING on the source, IMPORTING on the target; neither key exists anywhere yet.
        leased = await redis.withConnection(async (client) => {
          await client.set(key, 'asked');
          return client.get(key);
        }, key);
        transaction = await redis.multi().set(txKey, '1').incr(txKey).get(txKey).exec();
      },
    });
    expect(leased).toBe('asked');
    expect(transaction).toEqual(['OK', 2, '2']);
    expect(await to.cli('GET', key)).toBe('asked');
    expect(await to.cli('GET', txKey)).toBe('2');
    // ASKING before each command of the lease, and once before MULTI.
    expect((await calls(cluster(), to.port, 'asking')) - askingBefore).toBeGreaterThanOrEqual(3);
  }, 60_000);

  it('leases and transactions while their slot migrates under load: every INCR counted once, only typed errors', async () => {
    const tag = 'lease-e';
    const callers = 20;
    const counters = Array.from({ length: callers }, (_, id) => `{${tag}}counter:${id}`);
    const values = Array.from({ length: callers }, (_, id) => `{${tag}}value:${id}`);
    await Promise.all([
      ...counters.map((key) => redis.set(key, '0')),
      ...values.map((key) => redis.set(key, '-')),
    ]);
    const acked = new Array<number>(callers).fill(0);
    const errors = new Map<string, number>();
    let leaseOk = 0;
    let leaseMoved = 0;
    let mismatched = 0;
    let running = true;
    const fail = (error: unknown): void => {
      const name = error instanceof RedisError ? error.constructor.name : 'untyped';
      errors.set(name, (errors.get(name) ?? 0) + 1);
    };
    const loops = counters.map(async (counter, id) => {
      for (let round = 0; running; round++) {
        try {
          // Nothing of a transaction runs before EXEC: a redirected one always runs again, never fails.
          const [count] = (await redis.multi().incr(counter).exec())!;
          if (count === acked[id] + 1) acked[id]++;
          else mismatched++;
        } catch (error) {
          fail(error);
        }
        const value = `${id}:${round}`;
        try {
          const read = await redis.withConnection(async (client) => {
            await client.set(values[id], value);
            return client.get(values[id]);
          }, values[id]);
          if (read === value) leaseOk++;
          else mismatched++;
        } catch (error) {
          // The SET ran on the source, then the key moved before the GET (ASK): typed, with the redirection.
          const cause = (error as Error).cause;
          if (
            error instanceof ClusterLeaseMovedError &&
            cause instanceof ResponseError &&
            ['ASK', 'MOVED'].includes(cause.code)
          ) {
            leaseMoved++;
          } else fail(error);
          await sleep(5);
        }
      }
    });
    await sleep(200);
    const { slot, to } = await ownerAndOther(cluster(), counters[0]);
    await cluster().migrateSlot(slot, to, { batchSize: 2, pauseBetweenKeysMs: 30 });
    await sleep(300);
    running = false;
    await Promise.all(loops);
    expect(mismatched).toBe(0);
    expect(Object.fromEntries(errors)).toEqual({});
    expect(acked.reduce((a, b) => a + b, 0)).toBeGreaterThan(100);
    expect(leaseOk).toBeGreaterThan(100);
    expect(leaseMoved).toBeLessThanOrEqual(callers); // at most once per caller: the key moves once
    const stored = await Promise.all(counters.map((key) => to.cli('GET', key)));
    expect(stored.map(Number)).toEqual(acked);
  }, 60_000);
});
