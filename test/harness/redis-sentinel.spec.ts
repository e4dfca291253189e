import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';

import {
  startRedisSentinel,
  useRedisSentinel,
  type RedisNodeHandle,
  type RedisSentinelHandle,
  type RedisServerHandle,
} from './index';

const SLOW_TEST_MS = 45_000;

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * `PING` through a plain redis-cli with the given auth flags (none: unauthenticated); a failed
 * AUTH is reported on stderr, so both streams are returned.
 */
async function ping(port: number, ...auth: string[]): Promise<string> {
  const argv = ['-h', '127.0.0.1', '-p', String(port), '--no-auth-warning', ...auth, 'PING'];
  const { stdout, stderr } = await promisify(execFile)('redis-cli', argv, { timeout: 10_000 });
  return `${stderr.trim()} ${stdout.trim()}`.trim();
}

function report(line: string): void {
  process.stdout.write(`redis-sentinel harness: ${line}\n`);
}

/** `INFO replication` of a data node as a map. */
async function replication(node: RedisServerHandle): Promise<Map<string, string>> {
  const fields = new Map<string, string>();
  for (const line of (await node.cli('INFO', 'replication')).split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon > 0) fields.set(line.slice(0, colon), line.slice(colon + 1));
  }
  return fields;
}

/** A `SENTINEL MASTER`-style reply: `redis-cli --json` speaks RESP3, so it is a JSON object. */
async function record(node: RedisNodeHandle, ...args: string[]): Promise<Record<string, string>> {
  return JSON.parse(await node.cli('--json', ...args)) as Record<string, string>;
}

async function records(
  node: RedisNodeHandle,
  ...args: string[]
): Promise<Record<string, string>[]> {
  return JSON.parse(await node.cli('--json', ...args)) as Record<string, string>[];
}

function ports(nodes: { port: number }[]): number[] {
  return nodes.map((node) => node.port).sort((a, b) => a - b);
}

/** How many failovers the sentinels led so far (`+elected-leader` in their logs). */
function elections(topology: RedisSentinelHandle): number {
  return topology
    .sentinels()
    .reduce((sum, sentinel) => sum + (sentinel.log.match(/\+elected-leader/g)?.length ?? 0), 0);
}

/**
 * Runs `body`; if it throws, appends the sentinels' recent events (`+sdown`, `+switch-master`,
 * ...) to the error, since a failed failover test is unreadable without them.
 */
async function withSentinelEvents(
  topology: RedisSentinelHandle,
  body: () => Promise<void>,
): Promise<void> {
  try {
    await body();
  } catch (error) {
    if (error instanceof Error) {
      const tails = topology.sentinels().map((sentinel) => {
        const events = sentinel.log.split('\n').filter((line) => / [#*] [+-]/.test(line));
        return `--- sentinel ${sentinel.port} ---\n${events.slice(-25).join('\n')}`;
      });
      error.message += `\n${tails.join('\n')}`;
    }
    throw error;
  }
}

/** Checks, with redis-cli only, that `replica` replicates `master` with its link up. */
async function expectReplicaOf(
  replica: RedisServerHandle,
  master: RedisServerHandle,
): Promise<void> {
  const info = await replication(replica);
  expect(info.get('role')).toBe('slave');
  expect(info.get('master_host')).toBe('127.0.0.1');
  expect(info.get('master_port')).toBe(String(master.port));
  expect(info.get('master_link_status')).toBe('up');
}

/** Every live data node but the master replicates it, and a write reaches all of them. */
async function expectHealthy(topology: RedisSentinelHandle): Promise<void> {
  const master = topology.master();
  expect((await replication(master)).get('role')).toBe('master');
  const live = topology.replicas().filter((node) => node.running && !node.frozen);
  for (const replica of live) await expectReplicaOf(replica, master);
  const key = `probe:${Date.now()}`;
  expect(await master.cli('SET', key, 'v')).toBe('OK');
  // Not WAIT: every cli() call is a new connection, and WAIT only waits for that connection's writes.
  for (const replica of live) await eventually(() => replica.cli('GET', key), 'v');
}

/** Polls `read` until it yields `expected`, failing with the last value after `timeoutMs`. */
async function eventually(
  read: () => Promise<string>,
  expected: string,
  timeoutMs = 5000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = await read();
  while (last !== expected && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    last = await read();
  }
  expect(last).toBe(expected);
}

describe('redis sentinel topology', () => {
  const topology = useRedisSentinel();

  test('starts a master, 2 synced replicas and 3 sentinels that all know each other', async () => {
    const master = topology().master();
    const replicas = topology().replicas();
    const sentinels = topology().sentinels();
    expect(topology().masterName).toBe('mymaster');
    expect(replicas).toHaveLength(2);
    expect(sentinels).toHaveLength(3);
    expect(topology().sentinelAddresses()).toEqual(
      sentinels.map((node) => ({ host: '127.0.0.1', port: node.port })),
    );
    expect(await topology().currentMaster()).toEqual({ host: '127.0.0.1', port: master.port });
    expect((await replication(master)).get('connected_slaves')).toBe('2');
    await expectHealthy(topology());

    for (const sentinel of sentinels) {
      expect(JSON.parse(await sentinel.cli('--json', 'ROLE'))).toEqual(['sentinel', ['mymaster']]);
      expect(
        JSON.parse(await sentinel.cli('--json', 'SENTINEL', 'GET-MASTER-ADDR-BY-NAME', 'mymaster')),
      ).toEqual(['127.0.0.1', String(master.port)]);
      const state = await record(sentinel, 'SENTINEL', 'MASTER', 'mymaster');
      expect(state).toMatchObject({
        ip: '127.0.0.1',
        port: String(master.port),
        flags: 'master',
        quorum: '2',
        'num-slaves': '2',
        'num-other-sentinels': '2',
        'down-after-milliseconds': '1000',
        'failover-timeout': '3000',
      });
      const seenReplicas = await records(sentinel, 'SENTINEL', 'REPLICAS', 'mymaster');
      expect(seenReplicas.every((r) => r.ip === '127.0.0.1' && r.flags === 'slave')).toBe(true);
      expect(ports(seenReplicas.map((r) => ({ port: Number(r.port) })))).toEqual(ports(replicas));
      const peers = await records(sentinel, 'SENTINEL', 'SENTINELS', 'mymaster');
      expect(peers.every((p) => p.ip === '127.0.0.1' && p.flags === 'sentinel')).toBe(true);
      expect(ports(peers.map((p) => ({ port: Number(p.port) })))).toEqual(
        ports(sentinels.filter((other) => other !== sentinel)),
      );
      expect(await sentinel.cli('SENTINEL', 'CKQUORUM', 'mymaster')).toMatch(/^OK 3 usable/);
    }
    expect(elections(topology())).toBe(0);
  });

  test(
    'failover() (SENTINEL FAILOVER) moves the master and the old master becomes its replica',
    () =>
      withSentinelEvents(topology(), async () => {
        const before = elections(topology());
        const old = topology().master();
        const started = Date.now();
        const promoted = await topology().failover();
        report(
          `SENTINEL FAILOVER: master moved and topology settled in ${Date.now() - started} ms`,
        );

        expect(promoted).not.toBe(old);
        expect(topology().master()).toBe(promoted);
        expect(await topology().currentMaster()).toEqual({
          host: '127.0.0.1',
          port: promoted.port,
        });
        await expectReplicaOf(old, promoted);
        await expectHealthy(topology());
        expect(elections(topology()) - before).toBe(1);
      }),
    SLOW_TEST_MS,
  );

  test(
    'a SIGKILLed master is replaced within down-after + failover time and rejoins after restart()',
    () =>
      withSentinelEvents(topology(), async () => {
        const t = topology();
        const before = elections(t);
        const old = t.master();
        await old.kill();
        const started = Date.now();
        const promoted = await t.waitForMaster(old);
        const elapsed = Date.now() - started;
        report(`SIGKILL: replica promoted after ${elapsed} ms`);
        expect(promoted).not.toBe(old);
        expect(t.replicas()).toContain(old);
        // Usually ~2 s; a split vote retries the election only after twice the failover timeout.
        expect(elapsed).toBeLessThan(t.downAfterMs + 2 * t.failoverTimeoutMs + 3000);

        const restarted = Date.now();
        await old.restart();
        await t.waitForReplicasSynced();
        await t.waitForTopology();
        report(
          `SIGKILL: restarted old master rejoined as a replica after ${Date.now() - restarted} ms`,
        );
        await expectReplicaOf(old, promoted);
        await expectHealthy(t);
        expect(elections(t) - before).toBe(1);
      }),
    SLOW_TEST_MS,
  );

  test(
    'a SIGSTOPped master is replaced, and rejoins as a replica after resume()',
    () =>
      withSentinelEvents(topology(), async () => {
        const t = topology();
        const before = elections(t);
        const old = t.master();
        old.freeze();
        const started = Date.now();
        let promoted: RedisServerHandle;
        try {
          promoted = await t.waitForMaster(old);
        } finally {
          old.resume();
        }
        const elapsed = Date.now() - started;
        report(`SIGSTOP: replica promoted after ${elapsed} ms`);
        expect(promoted).not.toBe(old);
        expect(elapsed).toBeLessThan(t.downAfterMs + 2 * t.failoverTimeoutMs + 3000);

        // The old master wakes up still believing it is the master, until a sentinel demotes it.
        const resumed = Date.now();
        await t.waitForReplicasSynced();
        await t.waitForTopology();
        report(`SIGSTOP: resumed old master demoted to a replica after ${Date.now() - resumed} ms`);
        await expectReplicaOf(old, promoted);
        await expectHealthy(t);
        expect(elections(t) - before).toBe(1);
      }),
    SLOW_TEST_MS,
  );

  test(
    'with one of 3 sentinels down the other 2 still reach quorum and fail over',
    () =>
      withSentinelEvents(topology(), async () => {
        const t = topology();
        const before = elections(t);
        const down = t.sentinels()[0]!;
        await down.kill();
        const old = t.master();
        await old.kill();
        const started = Date.now();
        const promoted = await t.waitForMaster(old);
        report(`one sentinel down, SIGKILL: replica promoted after ${Date.now() - started} ms`);
        expect(promoted).not.toBe(old);
        expect(t.sentinelAddresses()).toContainEqual({ host: '127.0.0.1', port: down.port });

        await Promise.all([down.restart(), old.restart()]);
        await t.waitForReplicasSynced();
        await t.waitForTopology();
        await expectReplicaOf(old, promoted);
        // The restarted sentinel catches up with the failover it missed.
        expect(await t.currentMaster(down)).toEqual({ host: '127.0.0.1', port: promoted.port });
        expect(elections(t) - before).toBe(1);
      }),
    SLOW_TEST_MS,
  );

  test(
    'a SIGSTOPped sentinel answers nothing, then after resume() sits out a short TILT',
    () =>
      withSentinelEvents(topology(), async () => {
        const sentinel = topology().sentinels()[1]!;
        sentinel.freeze();
        try {
          // A frozen process still accepts connections (the kernel does) but never replies.
          await expect(
            promisify(execFile)('redis-cli', ['-p', String(sentinel.port), 'PING'], {
              timeout: 1000,
            }),
          ).rejects.toMatchObject({ killed: true });
          // Its timer falls behind by more than tilt-trigger (2 s), which triggers TILT on resume.
          await new Promise((resolve) => setTimeout(resolve, 2500));
        } finally {
          sentinel.resume();
        }
        expect(await sentinel.cli('PING')).toBe('PONG');
        const tilt = async (): Promise<string> =>
          /sentinel_tilt:(\d)/.exec(await sentinel.cli('INFO', 'sentinel'))?.[1] ?? '?';
        expect(await tilt()).toBe('1');
        const resumed = Date.now();
        await eventually(tilt, '0', 15_000);
        report(`frozen sentinel left TILT ${Date.now() - resumed} ms after resume()`);
        await topology().waitForTopology();
        expect(await topology().currentMaster(sentinel)).toEqual({
          host: '127.0.0.1',
          port: topology().master().port,
        });
      }),
    SLOW_TEST_MS,
  );
});

describe('redis sentinel with authentication', () => {
  test(
    'sentinels use their own ACL user and password, data nodes another; sentinels can be replaced; dispose() leaves nothing',
    async () => {
      const topology = await startRedisSentinel({
        password: 'data-secret',
        username: 'app',
        sentinelPassword: 'sentinel-secret',
        sentinelUsername: 'watcher',
      });
      const pids: number[] = [];
      const dirs: string[] = [];
      const remember = (nodes: RedisNodeHandle[]): void => {
        for (const node of nodes) {
          if (node.pid !== undefined) pids.push(node.pid);
          dirs.push(node.dir);
        }
      };
      remember([...topology.dataNodes(), ...topology.sentinels()]);
      try {
        const master = topology.master();
        const [sentinel] = topology.sentinels();
        // The sentinels' password opens the sentinels only, the data password the data nodes only.
        expect(await sentinel!.cli('PING')).toBe('PONG');
        expect(await ping(sentinel!.port)).toMatch(/NOAUTH/);
        expect(await ping(sentinel!.port, '--user', 'app', '--pass', 'data-secret')).toMatch(
          /WRONGPASS/,
        );
        expect(await ping(sentinel!.port, '-a', 'sentinel-secret')).toBe('PONG');
        expect(await ping(master.port)).toMatch(/NOAUTH/);
        expect(await ping(master.port, '-a', 'sentinel-secret')).toMatch(/WRONGPASS/);
        expect(await ping(master.port, '--user', 'app', '--pass', 'data-secret')).toBe('PONG');

        // Sentinels and replicas reach the data nodes as `app`, sentinels each other as `watcher`.
        const masterClients = await master.clientList();
        const sentinelLinks = masterClients.filter((c) => c.name?.startsWith('sentinel-'));
        expect(sentinelLinks.length).toBeGreaterThanOrEqual(3);
        expect(sentinelLinks.every((c) => c.user === 'app')).toBe(true);
        const replicaLinks = masterClients.filter((c) => c.flags?.includes('S'));
        expect(replicaLinks).toHaveLength(2);
        expect(replicaLinks.every((c) => c.user === 'app')).toBe(true);
        const peerClients = await records(sentinel!, 'SENTINEL', 'SENTINELS', 'mymaster');
        expect(peerClients).toHaveLength(2);
        const sentinelClients = (await sentinel!.cli('CLIENT', 'LIST')).split('\n');
        const peerLinks = sentinelClients.filter((line) =>
          /\bcmd=(ping|publish|sentinel)/.test(line),
        );
        expect(peerLinks.length).toBeGreaterThan(0);
        expect(peerLinks.every((line) => line.includes(' user=watcher '))).toBe(true);

        const started = Date.now();
        const promoted = await topology.failover();
        report(`authenticated SENTINEL FAILOVER settled in ${Date.now() - started} ms`);
        expect(promoted).not.toBe(master);
        await expectReplicaOf(master, promoted);

        // Replace every original sentinel by fresh ones (new ids, new ports).
        const originals = topology.sentinels();
        const originalIds = await Promise.all(originals.map((node) => node.myId()));
        const added = [await topology.addSentinel(), await topology.addSentinel()];
        remember(added);
        expect(topology.sentinels()).toHaveLength(5);
        for (const node of originals) await topology.removeSentinel(node);
        expect(topology.sentinels()).toEqual(added);
        expect(topology.sentinelAddresses()).toEqual(
          added.map((node) => ({ host: '127.0.0.1', port: node.port })),
        );
        expect(originals.every((node) => !node.running)).toBe(true);
        for (const node of added) {
          expect(originalIds).not.toContain(await node.myId());
          expect(await topology.currentMaster(node)).toEqual({
            host: '127.0.0.1',
            port: promoted.port,
          });
          const peers = await records(node, 'SENTINEL', 'SENTINELS', 'mymaster');
          expect(peers.map((p) => Number(p.port))).toEqual(
            added.filter((other) => other !== node).map((other) => other.port),
          );
          expect(await records(node, 'SENTINEL', 'REPLICAS', 'mymaster')).toHaveLength(2);
        }
      } finally {
        await topology.dispose();
      }

      expect(pids).toHaveLength(8);
      expect(pids.filter(isAlive)).toEqual([]);
      expect(dirs.filter((dir) => existsSync(dir))).toEqual([]);
      expect(topology.dataNodes().every((node) => !node.running)).toBe(true);
      expect(topology.sentinels().every((node) => !node.running)).toBe(true);
    },
    SLOW_TEST_MS,
  );

  test('rejects credentials Sentinel could not write back to its config, before starting anything', async () => {
    await expect(startRedisSentinel({ sentinelPassword: 'two words' })).rejects.toThrow(
      /sentinelPassword must be non-empty without blanks/,
    );
    await expect(startRedisSentinel({ username: 'app' })).rejects.toThrow(
      /username needs password/,
    );
  });
});
