// Spawns a throwaway Redis Sentinel topology for the sentinel-failover bench: a master, 2 replicas of it and 3
// `redis-server --sentinel` processes watching it (quorum 2), all on free loopback ports, in one temp dir, with
// no persistence. The sentinels get the short timers of test/harness/redis-sentinel.ts (SENTINEL DEBUG
// ping-period 250, info-period 1000, publish-period 500, tilt-period 5000), so that a failover takes a couple of
// seconds and the just-promoted master is not flagged down by a late first PING (which could start a second,
// spurious failover). Every sentinel is also watched on a raw PSUBSCRIBE * connection of our own, so that the
// caller knows when Sentinel itself announced the switch (+switch-master), independently of any client.
// Every process is killed (by PID: only the ones started here) and the dir removed by stop(), and also when this
// process exits or gets SIGINT/SIGTERM.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { distinctPorts, exitCleanups, waitForOutput } from './bench-kit.mjs';

const HOST = '127.0.0.1';
const START_TIMEOUT_MS = 10_000;
const TOPOLOGY_TIMEOUT_MS = 30_000;
const COMMAND_TIMEOUT_MS = 5_000;
/** The name of our own subscriptions, so that subscribers() can leave them out. */
const OBSERVER_NAME = 'bench-observer';
const SENTINEL_TIMERS = {
  'ping-period': 250,
  'info-period': 1000,
  'publish-period': 500,
  'tilt-period': 5000,
};

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** One RESP2 value from `buf` at `at`: [value, next offset], or undefined when incomplete. Errors are Error objects. */
function parseReply(buf, at) {
  const eol = buf.indexOf('\r\n', at);
  if (eol < 0) return undefined;
  const type = String.fromCharCode(buf[at]);
  const line = buf.toString('utf8', at + 1, eol);
  const next = eol + 2;
  if (type === '+') return [line, next];
  if (type === '-') return [new Error(line), next];
  if (type === ':') return [Number(line), next];
  if (type === '$') {
    const length = Number(line);
    if (length < 0) return [null, next];
    if (buf.length < next + length + 2) return undefined;
    return [buf.toString('utf8', next, next + length), next + length + 2];
  }
  if (type === '*') {
    const count = Number(line);
    if (count < 0) return [null, next];
    const items = [];
    let offset = next;
    for (let i = 0; i < count; i++) {
      const item = parseReply(buf, offset);
      if (item === undefined) return undefined;
      items.push(item[0]);
      offset = item[1];
    }
    return [items, offset];
  }
  throw new Error(`unexpected RESP type ${JSON.stringify(type)}`);
}

const encode = (args) =>
  `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(String(a))}\r\n${a}\r\n`).join('')}`;

/**
 * A raw RESP2 connection: `send(...args)` resolves with the next reply (error replies reject); frames nobody waits
 * for (pub/sub messages) go to `onPush`.
 */
function rawConnection(port, onPush = () => undefined) {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: HOST, port });
    const waiting = [];
    let buf = Buffer.alloc(0);
    let failed = null;
    const fail = (error) => {
      failed = error;
      for (const w of waiting.splice(0)) w.reject(error);
    };
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`connect to ${port} timed out`));
    }, COMMAND_TIMEOUT_MS);
    socket.setNoDelay(true);
    socket.once('connect', () => {
      clearTimeout(timer);
      resolve({
        send: (...args) =>
          new Promise((res, rej) => {
            if (failed) return rej(failed);
            waiting.push({ resolve: res, reject: rej });
            socket.write(encode(args));
          }),
        close: () => socket.destroy(),
      });
    });
    socket.on('data', (chunk) => {
      buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
      let offset = 0;
      for (;;) {
        const parsed = parseReply(buf, offset);
        if (parsed === undefined) break;
        offset = parsed[1];
        const [value] = parsed;
        const isPush = Array.isArray(value) && (value[0] === 'pmessage' || value[0] === 'message');
        if (isPush || waiting.length === 0) onPush(value);
        else if (value instanceof Error) waiting.shift().reject(value);
        else waiting.shift().resolve(value);
      }
      buf = buf.subarray(offset);
    });
    socket.on('error', (error) => {
      clearTimeout(timer);
      fail(error);
      reject(error);
    });
    socket.on('close', () => fail(new Error(`connection to ${port} closed`)));
  });
}

/** One command on a fresh connection, bounded. */
async function command(port, ...args) {
  const connection = await rawConnection(port);
  try {
    let timer;
    const timeout = new Promise((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`${args.join(' ')} on ${port} timed out`)),
        COMMAND_TIMEOUT_MS,
      );
    });
    return await Promise.race([connection.send(...args), timeout]).finally(() =>
      clearTimeout(timer),
    );
  } finally {
    connection.close();
  }
}

/** A flat [k, v, k, v, ...] reply as an object. */
function record(flat) {
  const out = {};
  for (let i = 0; i + 1 < (flat?.length ?? 0); i += 2) out[flat[i]] = flat[i + 1];
  return out;
}

/** Spawns a process and resolves once its output contains `readyText`; rejects when it exits or takes too long. */
function spawnReady(args, readyText, children) {
  const child = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  return waitForOutput(child, {
    text: readyText,
    timeoutMs: START_TIMEOUT_MS,
    label: `redis-server ${args.join(' ')}`,
  });
}

/** What is still missing before `port`'s sentinel sees the whole topology, or undefined when nothing is. */
async function sentinelProblem(port, masterName, masterPort, replicaPorts) {
  const master = record(await command(port, 'SENTINEL', 'MASTER', masterName));
  if (master.flags !== 'master') return `sentinel ${port}: master flags ${master.flags}`;
  if (Number(master.port) !== masterPort) return `sentinel ${port}: names master ${master.port}`;
  if (master['num-other-sentinels'] !== '2') {
    return `sentinel ${port}: knows ${master['num-other-sentinels']} other sentinels`;
  }
  const replicas = (await command(port, 'SENTINEL', 'REPLICAS', masterName)).map(record);
  for (const replicaPort of replicaPorts) {
    const entry = replicas.find((r) => Number(r.port) === replicaPort);
    if (!entry) return `sentinel ${port}: does not list replica ${replicaPort}`;
    if (entry.flags !== 'slave' || entry['master-link-status'] !== 'ok') {
      return `sentinel ${port}: replica ${replicaPort} flags ${entry.flags} link ${entry['master-link-status']}`;
    }
  }
  return undefined;
}

/**
 * Starts the topology; resolves once every sentinel sees the master, both replicas (link up) and the 2 other
 * sentinels, and our raw subscriptions to every sentinel are in place.
 * Resolves to { masterName, sentinels: [{ host, port }], master: { port, pid, kill() }, replicas: [{ port, pid }],
 * waitForSwitch(timeoutMs), events, subscribers(), stop() }.
 * - master.kill() SIGKILLs the master and returns Date.now() just before the signal.
 * - waitForSwitch() resolves with Date.now() when the first +switch-master for the master arrived on one of our
 *   subscriptions (rejects after timeoutMs, default 30 s).
 * - events: every sentinel event seen so far, { at, sentinel (port), channel, payload }.
 * - subscribers(): the subscribed connections of others on each sentinel, [{ sentinel, cmd, sub, psub }].
 */
export async function startSentinelTopology({
  downAfterMs = 1000,
  failoverTimeoutMs = 3000,
  masterName = 'mymaster',
} = {}) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'nrp-bench-sentinel-'));
  const children = [];
  const subscriptions = [];
  const events = [];
  const switchWaiters = new Set();
  let switchAt = null;
  const cleanups = exitCleanups();
  let stopped = false;
  const stop = () => {
    if (stopped) return;
    stopped = true;
    cleanups.delete(stop);
    for (const connection of subscriptions) connection.close();
    // Sentinels first, so none reconfigures a data node while they go down.
    for (const child of [...children].reverse()) {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
    for (const waiter of switchWaiters) waiter.reject(new Error('topology stopped'));
    rmSync(dir, { recursive: true, force: true });
  };
  cleanups.add(stop);

  try {
    const fresh = distinctPorts();
    const dataArgs = (port) => [
      '--port',
      String(port),
      '--bind',
      HOST,
      '--save',
      '',
      '--appendonly',
      'no',
      '--dir',
      dir,
      '--dbfilename',
      `dump-${port}.rdb`,
      // Sentinels learn replica addresses from the master's INFO; pin them to loopback.
      '--replica-announce-ip',
      HOST,
      // Full syncs start at once instead of waiting 5 s for more replicas.
      '--repl-diskless-sync',
      'yes',
      '--repl-diskless-sync-delay',
      '0',
    ];
    const masterPort = await fresh();
    const masterChild = await spawnReady(
      dataArgs(masterPort),
      'Ready to accept connections',
      children,
    );
    const replicaPorts = [await fresh(), await fresh()];
    const replicaChildren = await Promise.all(
      replicaPorts.map((port) =>
        spawnReady(
          [...dataArgs(port), '--replicaof', HOST, String(masterPort)],
          'Ready to accept connections',
          children,
        ),
      ),
    );

    const sentinelPorts = [await fresh(), await fresh(), await fresh()];
    await Promise.all(
      sentinelPorts.map(async (port) => {
        const configPath = path.join(dir, `sentinel-${port}.conf`);
        const lines = [
          `port ${port}`,
          `bind ${HOST}`,
          'protected-mode no',
          'daemonize no',
          'logfile ""',
          `dir "${dir}"`,
          'sentinel resolve-hostnames no',
          'sentinel announce-hostnames no',
          `sentinel announce-ip ${HOST}`,
          `sentinel monitor ${masterName} ${HOST} ${masterPort} 2`,
          `sentinel down-after-milliseconds ${masterName} ${downAfterMs}`,
          `sentinel failover-timeout ${masterName} ${failoverTimeoutMs}`,
          `sentinel parallel-syncs ${masterName} 1`,
        ];
        writeFileSync(configPath, `${lines.join('\n')}\n`, { mode: 0o600 });
        await spawnReady([configPath, '--sentinel'], 'Sentinel ID is', children);
        const timers = Object.entries(SENTINEL_TIMERS).flatMap(([name, ms]) => [name, String(ms)]);
        const reply = await command(port, 'SENTINEL', 'DEBUG', ...timers);
        if (reply !== 'OK') throw new Error(`SENTINEL DEBUG on ${port} answered ${reply}`);
      }),
    );

    const deadline = Date.now() + TOPOLOGY_TIMEOUT_MS;
    for (;;) {
      let problem;
      try {
        const problems = await Promise.all(
          sentinelPorts.map((port) => sentinelProblem(port, masterName, masterPort, replicaPorts)),
        );
        problem = problems.find((p) => p !== undefined);
      } catch (error) {
        problem = error.message;
      }
      if (problem === undefined) break;
      if (Date.now() > deadline) {
        throw new Error(
          `sentinels did not see the topology in ${TOPOLOGY_TIMEOUT_MS} ms: ${problem}`,
        );
      }
      await sleep(100);
    }

    for (const port of sentinelPorts) {
      const onPush = (frame) => {
        if (!Array.isArray(frame) || frame[0] !== 'pmessage') return;
        const at = Date.now();
        const [, , channel, payload] = frame;
        events.push({ at, sentinel: port, channel, payload });
        if (channel === '+switch-master' && String(payload).split(' ')[0] === masterName) {
          if (switchAt === null) switchAt = at;
          for (const waiter of switchWaiters) waiter.resolve(switchAt);
          switchWaiters.clear();
        }
      };
      const connection = await rawConnection(port, onPush);
      subscriptions.push(connection);
      await connection.send('CLIENT', 'SETNAME', OBSERVER_NAME);
      await connection.send('PSUBSCRIBE', '*');
    }

    const master = {
      port: masterPort,
      pid: masterChild.pid,
      kill() {
        const at = Date.now();
        masterChild.kill('SIGKILL');
        return at;
      },
    };
    const waitForSwitch = (timeoutMs = 30_000) => {
      if (switchAt !== null) return Promise.resolve(switchAt);
      return new Promise((resolve, reject) => {
        const waiter = {
          resolve: (at) => (clearTimeout(timer), resolve(at)),
          reject: (error) => (clearTimeout(timer), reject(error)),
        };
        const timer = setTimeout(() => {
          switchWaiters.delete(waiter);
          reject(new Error(`no +switch-master within ${timeoutMs} ms`));
        }, timeoutMs);
        switchWaiters.add(waiter);
      });
    };
    // Which sentinels the clients under test listen to (their subscribed connections, ours left out).
    const subscribers = async () => {
      const found = [];
      for (const port of sentinelPorts) {
        const list = String(await command(port, 'CLIENT', 'LIST'));
        for (const line of list.split('\n')) {
          const fields = Object.fromEntries(
            line
              .trim()
              .split(' ')
              .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
          );
          if (fields.name === OBSERVER_NAME) continue;
          if (Number(fields.sub ?? 0) > 0 || Number(fields.psub ?? 0) > 0) {
            found.push({
              sentinel: port,
              cmd: fields.cmd,
              sub: Number(fields.sub),
              psub: Number(fields.psub),
            });
          }
        }
      }
      return found;
    };
    return {
      masterName,
      sentinels: sentinelPorts.map((port) => ({ host: HOST, port })),
      subscribers,
      master,
      replicas: replicaPorts.map((port, i) => ({ port, pid: replicaChildren[i].pid })),
      waitForSwitch,
      events,
      stop,
    };
  } catch (error) {
    stop();
    throw error;
  }
}
