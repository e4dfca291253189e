import { RedisService } from '../../lib/client/redis.service';
import {
  ConfigurationError,
  ConnectionError,
  RedisError,
} from '../../lib/errors/redis-pool.errors';
import { SentinelPool } from '../../lib/sentinel/sentinel-pool';
import type { SentinelPoolOptions } from '../../lib/sentinel/sentinel-options';
import { startRedisSentinel, type RedisNodeHandle, type RedisSentinelHandle } from '../harness';
import { expectNothingOpen } from './sentinel-checks';
import { uniqueName, watchUnhandledRejections } from '../pool/pool-checks';

/** How often `command` ran on `node`, from INFO commandstats. */
async function calls(node: RedisNodeHandle, command: string): Promise<number> {
  const info = await node.cli('INFO', 'commandstats');
  const line = info.split('\n').find((l) => l.startsWith(`cmdstat_${command}:`));
  return line === undefined ? 0 : Number(/calls=(\d+)/.exec(line)![1]);
}

/** Polls `check` until it holds (at most `timeoutMs`), for states the sentinels reach in their own time. */
async function eventually(check: () => Promise<boolean> | boolean, timeoutMs = 15_000) {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error('condition not reached in time');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

// Fault timings (kills, failovers, migrations) on a loaded CI machine: a test that loses a race with the
// machine's load runs again from its own set-up; a real failure fails every attempt.
jest.retryTimes(2, { logErrorsBeforeRetry: true });

describe('SentinelPool readFrom', () => {
  watchUnhandledRejections();
  let topology: RedisSentinelHandle;
  let pool: SentinelPool | undefined;
  let name: string;

  beforeEach(async () => {
    topology = await startRedisSentinel();
  }, 60_000);

  afterEach(async () => {
    try {
      await pool?.disconnect();
      await expectNothingOpen(topology, name);
    } finally {
      pool = undefined;
      await topology.dispose();
    }
  }, 60_000);

  const open = (options: Partial<SentinelPoolOptions> = {}) => {
    name = uniqueName('replicas');
    pool = new SentinelPool({
      sentinels: topology.sentinelAddresses(),
      masterName: topology.masterName,
      clientName: name,
      connectTimeoutMs: 500,
      commandTimeoutMs: 5000,
      recheckIntervalMs: 500,
      retry: { attempts: 2, baseDelayMs: 50, maxDelayMs: 200 },
      ...options,
    });
    return new RedisService(pool);
  };

  /** Writes `count` keys on the master and waits until both replicas have them. */
  async function seed(redis: RedisService, count: number): Promise<void> {
    // On one lease, so that WAIT counts the replicas that have these very writes.
    await redis.withConnection(async (c) => {
      for (let i = 0; i < count; i++) await c.executeCommand('SET', `rf:${i}`, `value-${i}`);
      expect(await c.executeCommand('WAIT', 2, 5000)).toBe(2);
    });
  }

  it("'replica': reads go round-robin to both replicas (INFO commandstats), writes and leases to the master", async () => {
    const redis = open({ readFrom: 'replica' });
    await seed(redis, 50);
    const master = topology.master();
    const [r1, r2] = topology.replicas();
    const before = await Promise.all([master, r1, r2].map((node) => calls(node, 'get')));
    const replies = await Promise.all(
      Array.from({ length: 400 }, (_, i) => redis.get(`rf:${i % 50}`)),
    );
    replies.forEach((reply, i) => expect(reply).toBe(`value-${i % 50}`));
    const after = await Promise.all([master, r1, r2].map((node) => calls(node, 'get')));
    const [onMaster, onR1, onR2] = after.map((n, i) => n - before[i]);
    expect(onMaster).toBe(0);
    expect(onR1 + onR2).toBe(400);
    expect(onR1).toBeGreaterThan(50);
    expect(onR2).toBeGreaterThan(50);
    expect(pool!.replicaAddresses.sort()).toEqual(
      [r1, r2].map((r) => `${r.host}:${r.port}`).sort(),
    );
    // Writes never go to a replica (they would be refused with READONLY), and a lease is on the master.
    await redis.incr('rf:counter');
    expect(await master.cli('GET', 'rf:counter')).toBe('1');
    const beforeLease = await calls(master, 'get');
    await pool!.withConnection(async (c) => {
      expect(await c.executeCommand('GET', 'rf:1')).toBe('value-1');
    });
    expect((await calls(master, 'get')) - beforeLease).toBe(1);
  }, 60_000);

  it("'replica': a killed replica is skipped within the deadline; with none left, reads fail typed", async () => {
    const redis = open({ readFrom: 'replica' });
    await seed(redis, 20);
    const [r1, r2] = topology.replicas();
    await r1.kill();
    // Every read still answers (a failed one goes to the other replica), none is an error.
    const replies = await Promise.all(
      Array.from({ length: 200 }, (_, i) => redis.get(`rf:${i % 20}`)),
    );
    replies.forEach((reply, i) => expect(reply).toBe(`value-${i % 20}`));
    // Once the sentinels flag it down, it leaves the list.
    await eventually(() => !pool!.replicaAddresses.includes(`${r1.host}:${r1.port}`));
    await r2.kill();
    const error = await redis.get('rf:1').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectionError);
    expect(error).toBeInstanceOf(RedisError);
    // Writes are unaffected: the master is up.
    await redis.set('rf:still', 'writable');
    expect(await topology.master().cli('GET', 'rf:still')).toBe('writable');
  }, 60_000);

  it("'preferReplica': falls back to the master when no replica is up, and back to a replica when one returns", async () => {
    const redis = open({ readFrom: 'preferReplica' });
    await seed(redis, 10);
    const master = topology.master();
    const replicas = topology.replicas();
    await Promise.all(replicas.map((replica) => replica.kill()));
    await eventually(() => pool!.replicaAddresses.length === 0);
    const before = await calls(master, 'get');
    for (let i = 0; i < 20; i++) expect(await redis.get(`rf:${i % 10}`)).toBe(`value-${i % 10}`);
    expect((await calls(master, 'get')) - before).toBe(20);
    await replicas[0].start();
    await topology.waitForReplicasSynced();
    await eventually(async () => {
      const onReplica = await calls(replicas[0], 'get');
      await redis.get('rf:1');
      return (await calls(replicas[0], 'get')) > onReplica;
    });
  }, 90_000);

  it('follows a failover: the promoted replica leaves the read set, reads and writes go on', async () => {
    const redis = open({ readFrom: 'replica' });
    await seed(redis, 10);
    const promoted = await topology.failover();
    await eventually(
      () =>
        pool!.masterAddress === `${promoted.host}:${promoted.port}` &&
        !pool!.replicaAddresses.includes(`${promoted.host}:${promoted.port}`),
    );
    await redis.set('rf:after', 'new');
    expect(await promoted.cli('GET', 'rf:after')).toBe('new');
    expect(await redis.get('rf:1')).toBe('value-1');
  }, 90_000);

  it('refuses an unknown readFrom with ConfigurationError', () => {
    expect(
      () =>
        new SentinelPool({
          sentinels: topology.sentinelAddresses(),
          masterName: topology.masterName,
          readFrom: 'slave' as never,
        }),
    ).toThrow(ConfigurationError);
    name = uniqueName('none');
  });
});
