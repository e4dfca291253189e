import { inspect } from 'node:util';
import { RedisService } from '../../lib/client/redis.service';
import {
  ConfigurationError,
  ConnectionError,
  PoolClosedError,
} from '../../lib/errors/redis-pool.errors';
import { SentinelPool, type FailoverEvent } from '../../lib/sentinel/sentinel-pool';
import type { SentinelPoolOptions } from '../../lib/sentinel/sentinel-options';
import { startRedisSentinel, type RedisSentinelHandle } from '../harness';
import { settleAll, uniqueName, watchUnhandledRejections } from '../pool/pool-checks';
import { startLoad, type LoadReport } from './sentinel-load';
import { expectNothingOpen } from './sentinel-checks';

const PASSWORD = 'data-Pw-7x';
const SENTINEL_PASSWORD = 'sentinel-Pw-9q';

/**
 * The asserts every failover scenario ends with: no reply mis-delivered, only typed errors, no INCR run more
 * often than it was sent (nothing resent behind the caller's back), and every INCR issued after the fault and
 * acknowledged is on the master in use. Redis replicates asynchronously, so what the old master acknowledged
 * just before and during the failover (between the replica's promotion and the switch) may be lost: that is
 * Sentinel's property, printed here, not asserted.
 */
async function expectClean(
  report: LoadReport,
  topology: RedisSentinelHandle,
  pool: SentinelPool,
): Promise<number> {
  expect(report.mismatched).toEqual([]);
  expect(report.untyped).toEqual([]);
  expect(report.ok).toBeGreaterThan(100);
  const master = topology.master();
  let lost = 0;
  for (const { key, acked, maybe, ackedAfter } of report.counters) {
    const value = Number((await master.cli('GET', key)) || '0');
    expect(value).toBeGreaterThanOrEqual(ackedAfter);
    expect(value).toBeLessThanOrEqual(acked + maybe);
    lost += Math.max(0, acked - value);
  }
  if (report.stale > 0 || lost > 0) {
    console.log(`failover: ${report.stale} stale reads, ${lost} acknowledged INCRs lost`);
  }
  expect(pool.masterAddress).toBe(`${master.host}:${master.port}`);
  return lost;
}

describe('SentinelPool', () => {
  watchUnhandledRejections();
  let topology: RedisSentinelHandle;
  let pool: SentinelPool;
  let name: string;

  beforeEach(async () => {
    topology = await startRedisSentinel({
      password: PASSWORD,
      sentinelPassword: SENTINEL_PASSWORD,
    });
  }, 60_000);

  afterEach(async () => {
    try {
      await pool?.disconnect();
      await expectNothingOpen(topology, name);
    } finally {
      await topology.dispose();
    }
  }, 60_000);

  const open = (options: Partial<SentinelPoolOptions> = {}) => {
    name = uniqueName('sentinel');
    pool = new SentinelPool({
      sentinels: topology.sentinelAddresses(),
      masterName: topology.masterName,
      password: PASSWORD,
      sentinelPassword: SENTINEL_PASSWORD,
      clientName: name,
      connectTimeoutMs: 500,
      commandTimeoutMs: 5000,
      recheckIntervalMs: 1000,
      retry: { attempts: 3, baseDelayMs: 50, maxDelayMs: 500 },
      ...options,
    });
    return pool;
  };

  it('finds the master through the sentinels (their own password), checks it, and runs the command API there', async () => {
    open();
    const redis = new RedisService(pool);
    await redis.set('sentinel:k', 'v');
    expect(await redis.get('sentinel:k')).toBe('v');
    const master = topology.master();
    expect(pool.masterAddress).toBe(`${master.host}:${master.port}`);
    expect(await master.cli('GET', 'sentinel:k')).toBe('v');
    for (const replica of topology.replicas()) {
      const list = await replica.cli('CLIENT', 'LIST');
      expect(list).not.toContain(` name=${name} `);
    }
    // A lease is on the master too.
    await pool.withConnection(async (c) => {
      expect(await c.executeCommand('ROLE')).toEqual(expect.arrayContaining(['master']));
    });
    const shown = [
      inspect(pool),
      inspect(pool, { customInspect: false, showHidden: true, depth: 12 }),
      JSON.stringify(pool),
    ].join('\n');
    expect(shown).not.toContain(PASSWORD);
    expect(shown).not.toContain(SENTINEL_PASSWORD);
  });

  it('SENTINEL FAILOVER under load: one failover event, the new master takes the writes, nothing mis-delivered', async () => {
    open();
    await pool.executeCommand('PING');
    const events: FailoverEvent[] = [];
    const old = topology.master();
    const load = startLoad(pool, 'sentinel:failover');
    pool.on('failover', (event: FailoverEvent) => {
      events.push(event);
      load.markFault();
    });
    await new Promise((resolve) => setTimeout(resolve, 500));
    const promoted = await topology.failover();
    const until = Date.now() + 10_000;
    while (load.report.okAfterFault < 200 && Date.now() < until) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const [report] = await settleAll([load.stop()], 15_000);
    expect(report.status).toBe('fulfilled');
    const result = (report as PromiseFulfilledResult<LoadReport>).value;
    expect(result.okAfterFault).toBeGreaterThanOrEqual(200);
    expect(events).toEqual([
      { from: `${old.host}:${old.port}`, to: `${promoted.host}:${promoted.port}` },
    ]);
    // Writes wait from the moment a replica is about to be promoted until the switch, so the old master is not
    // sent writes it would lose: at most the one INCR per caller that was already on the wire (without the pause,
    // tens of thousands were lost here).
    const lost = await expectClean(result, topology, pool);
    expect(lost).toBeLessThanOrEqual(result.counters.length);
  }, 60_000);

  it('SIGKILL of the master under load: callers ride the promotion within their deadline', async () => {
    open();
    await pool.executeCommand('PING');
    const old = topology.master();
    const load = startLoad(pool, 'sentinel:kill');
    pool.on('failover', () => load.markFault());
    await new Promise((resolve) => setTimeout(resolve, 500));
    const killedAt = Date.now();
    await old.kill();
    await topology.waitForMaster({ host: old.host, port: old.port });
    const until = Date.now() + 15_000;
    while (load.report.okAfterFault < 200 && Date.now() < until) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const recoveredMs = Date.now() - killedAt;
    const result = await load.stop();
    expect(result.okAfterFault).toBeGreaterThanOrEqual(200);
    expect(recoveredMs).toBeLessThan(20_000);
    await expectClean(result, topology, pool);
  }, 60_000);

  it('SIGSTOP of the master (frozen, no close) under load: the command deadline and the sentinels move it', async () => {
    open({ commandTimeoutMs: 1500 });
    await pool.executeCommand('PING');
    const old = topology.master();
    const events: FailoverEvent[] = [];
    const load = startLoad(pool, 'sentinel:frozen');
    pool.on('failover', (event: FailoverEvent) => {
      events.push(event);
      load.markFault();
    });
    await new Promise((resolve) => setTimeout(resolve, 300));
    old.freeze();
    try {
      await topology.waitForMaster({ host: old.host, port: old.port });
      const until = Date.now() + 15_000;
      while (load.report.okAfterFault < 200 && Date.now() < until) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    } finally {
      old.resume();
    }
    const result = await load.stop();
    expect(events).toHaveLength(1);
    expect(events[0].from).toBe(`${old.host}:${old.port}`);
    expect(result.okAfterFault).toBeGreaterThanOrEqual(200);
    await expectClean(result, topology, pool);
    // The old master comes back as a replica: nothing of ours connects to it again.
    await topology.waitForRole(old, 'replica').catch(() => undefined);
    const list = await old.cli('CLIENT', 'LIST');
    expect(list).not.toContain(` name=${name} `);
  }, 60_000);

  it('one sentinel down: the others answer, and a failover still carries the pool', async () => {
    open();
    await topology.sentinels()[0].kill();
    await pool.executeCommand('PING');
    const before = topology.master();
    await topology.failover();
    const until = Date.now() + 15_000;
    while (pool.masterAddress === `${before.host}:${before.port}` && Date.now() < until) {
      await pool.executeCommand('PING').catch(() => undefined);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const master = topology.master();
    expect(pool.masterAddress).toBe(`${master.host}:${master.port}`);
    expect(await pool.executeCommand('SET', 'sentinel:one-down', '1')).toBe('OK');
  }, 60_000);

  it('survives the loss of every seed sentinel: the list it learned carries it through a failover', async () => {
    open();
    await pool.executeCommand('PING');
    const seeds = [...topology.sentinels()];
    const added = [await topology.addSentinel(), await topology.addSentinel()];
    // The watcher's reconnects and the periodic check ask the sentinels, which refreshes the list.
    const learnUntil = Date.now() + 10_000;
    while (
      !added.every((a) => pool.sentinels.some((s) => s.port === a.port)) &&
      Date.now() < learnUntil
    ) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(pool.sentinels.map((s) => s.port)).toEqual(
      expect.arrayContaining(added.map((a) => a.port)),
    );
    // Every seed the pool was given goes away; two sentinels it learned of remain (quorum 2).
    for (const seed of seeds) await topology.removeSentinel(seed);
    const before = topology.master();
    await topology.failover();
    const until = Date.now() + 15_000;
    while (pool.masterAddress === `${before.host}:${before.port}` && Date.now() < until) {
      await pool.executeCommand('PING').catch(() => undefined);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const master = topology.master();
    expect(pool.masterAddress).toBe(`${master.host}:${master.port}`);
    await pool.executeCommand('SET', 'sentinel:after', '1');
    expect(await master.cli('GET', 'sentinel:after')).toBe('1');
  }, 60_000);

  it('maps announced addresses with natMap, and never uses a node that ROLE says is not a master', async () => {
    const master = topology.master();
    const replica = topology.replicas()[0];
    const seen: string[] = [];
    open({
      natMap: (address) => {
        seen.push(`${address.host}:${address.port}`);
        return address;
      },
    });
    await pool.executeCommand('PING');
    expect(seen).toContain(`${master.host}:${master.port}`);
    await pool.disconnect();
    // A natMap that sends the master's address to a replica: the ROLE check refuses it.
    open({
      natMap: { [`${master.host}:${master.port}`]: { host: replica.host, port: replica.port } },
      commandTimeoutMs: 1500,
    });
    const error = await pool.executeCommand('SET', 'sentinel:never', '1').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectionError);
    expect((error as Error).message).toMatch(/is a (slave|replica)/);
    expect(await replica.cli('EXISTS', 'sentinel:never')).toBe('0');
    expect(await master.cli('EXISTS', 'sentinel:never')).toBe('0');
  });

  it('refuses bad options with ConfigurationError and new work after disconnect with PoolClosedError', async () => {
    expect(() => new SentinelPool({ sentinels: [], masterName: 'm' })).toThrow(ConfigurationError);
    expect(
      () => new SentinelPool({ sentinels: [{ host: 'h', port: 0 }], masterName: 'm' }),
    ).toThrow(ConfigurationError);
    expect(
      () => new SentinelPool({ sentinels: topology.sentinelAddresses(), masterName: '' }),
    ).toThrow(ConfigurationError);
    open();
    await pool.executeCommand('PING');
    await pool.disconnect();
    await expect(pool.executeCommand('PING')).rejects.toThrow(PoolClosedError);
  });
});
