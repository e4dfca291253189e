// Soak: 500 concurrent callers for a bounded time with a fault every few seconds (SIGKILL + restart,
// CLIENT KILL, SIGSTOP/SIGCONT). Checks: zero mismatched replies, zero crashes, heap back within 10 % after GC,
// the server's connected clients back to the pool's own count, INCR totals reconciled (at-most-once).
// Usage: npm run soak [-- --seconds 120 --callers 500 --fault-every 4]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import {
  ensureBuilt,
  exitCleanups,
  freePort,
  parseFlags,
  root,
  spawnRedisServer,
  waitForOutput,
} from './bench-kit.mjs';

const require = createRequire(import.meta.url);
const args = parseFlags();
const seconds = Number(args.seconds ?? 120);
const callers = Number(args.callers ?? 500);
const faultEvery = Number(args['fault-every'] ?? 4) * 1000;
const maxConnections = 4;

ensureBuilt(path.join(root, 'dist/index.js'), { quiet: true });
const { ConnectionPool, RedisError } = require('../dist/index.js');

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const port = await freePort();
const dir = mkdtempSync(path.join(os.tmpdir(), 'nrp-soak-'));
let server = null;
// The server and its dir go with this process, however it ends.
exitCleanups().add(() => {
  server?.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

async function startServer() {
  // AOF with fsync on every write: an acknowledged INCR survives SIGKILL, so totals can be reconciled.
  server = spawnRedisServer(port, dir, ['--appendonly', 'yes', '--appendfsync', 'always']);
  await waitForOutput(server, { timeoutMs: 15_000 });
}
const cli = (...a) =>
  spawnSync('redis-cli', ['-p', String(port), ...a])
    .stdout.toString()
    .trim();

await startServer();
const pool = new ConnectionPool({
  host: '127.0.0.1',
  port,
  maxConnections,
  commandTimeoutMs: 2000,
  connectTimeoutMs: 1000,
  retry: { attempts: 3, baseDelayMs: 25, maxDelayMs: 500 },
});
let crashed = null;
process.on('uncaughtException', (e) => (crashed = e));
process.on('unhandledRejection', (e) => (crashed = e));

const stats = {
  ok: 0,
  mismatched: 0,
  untyped: 0,
  errors: {},
  incrAcked: 0,
  incrMaybe: 0,
  faults: [],
};
let stop = false;

async function caller(i) {
  let round = 0;
  while (!stop) {
    const key = `soak:${i}`;
    const value = `${i}:${round++}`;
    try {
      if (round % 3 === 0) {
        try {
          await pool.executeCommand('INCR', 'soak:counter');
          stats.incrAcked++;
        } catch (error) {
          // At-most-once: a written INCR whose reply was lost may have run; one never written did not.
          if (error.commandMayHaveRun) stats.incrMaybe++;
          throw error;
        }
      } else {
        const set = await pool.executeCommand('SET', key, value);
        const got = await pool.executeCommand('GET', key);
        if (set !== 'OK' || (got !== value && got !== null)) stats.mismatched++;
        else stats.ok++;
      }
    } catch (error) {
      if (!(error instanceof RedisError)) stats.untyped++;
      const name = `${error?.constructor?.name ?? 'unknown'}${error?.code ? ` ${error.code}` : ''}`;
      stats.errors[name] = (stats.errors[name] ?? 0) + 1;
      await sleep(10);
    }
  }
}

const faults = [
  async () => {
    server.kill('SIGKILL');
    await new Promise((r) => server.once('close', r));
    await sleep(300);
    await startServer();
    return 'SIGKILL + restart';
  },
  async () => `CLIENT KILL (${cli('CLIENT', 'KILL', 'TYPE', 'normal')} connections)`,
  async () => {
    server.kill('SIGSTOP');
    await sleep(1500);
    server.kill('SIGCONT');
    return 'SIGSTOP 1.5 s, SIGCONT';
  },
];

console.log(
  `Soak: ${callers} callers, pool of ${maxConnections}, ${seconds} s, a fault every ${faultEvery / 1000} s`,
);
const workers = Array.from({ length: callers }, (_, i) => caller(i));
await sleep(2000);
globalThis.gc?.();
const heapBaseline = process.memoryUsage().heapUsed;
const until = Date.now() + seconds * 1000;
for (let f = 0; Date.now() < until - faultEvery; f++) {
  await sleep(faultEvery);
  const what = await faults[f % faults.length]();
  stats.faults.push(what);
  console.log(
    `  ${new Date().toISOString().slice(11, 19)} fault: ${what}; ok so far ${stats.ok}, errors ${JSON.stringify(stats.errors)}`,
  );
}
await sleep(Math.max(0, until - Date.now()));
stop = true;
await Promise.all(workers);
await sleep(500);
for (let i = 0; i < 3; i++) {
  globalThis.gc?.();
  await sleep(100);
}
const heapAfter = process.memoryUsage().heapUsed;
const counter = Number(cli('GET', 'soak:counter') || '0');
const clients = Number(/connected_clients:(\d+)/.exec(cli('INFO', 'clients'))?.[1] ?? '-1') - 1;
const poolTotal = pool.stats().total;
await pool.disconnect();
server.kill('SIGKILL');
rmSync(dir, { recursive: true, force: true });

const violations = [];
if (crashed) violations.push(`crash: ${crashed}`);
if (stats.mismatched > 0) violations.push(`${stats.mismatched} mismatched replies`);
if (stats.untyped > 0) violations.push(`${stats.untyped} untyped errors`);
if (Math.abs(heapAfter - heapBaseline) > heapBaseline * 0.1 && heapAfter > heapBaseline) {
  violations.push(
    `heap grew from ${(heapBaseline / 2 ** 20).toFixed(1)} MB to ${(heapAfter / 2 ** 20).toFixed(1)} MB`,
  );
}
if (clients !== poolTotal || poolTotal > maxConnections) {
  violations.push(
    `server lists ${clients} clients, the pool holds ${poolTotal} (max ${maxConnections})`,
  );
}
if (counter < stats.incrAcked || counter > stats.incrAcked + stats.incrMaybe) {
  violations.push(
    `INCR total ${counter} outside [acked ${stats.incrAcked}, acked + maybe-run ${stats.incrAcked + stats.incrMaybe}]`,
  );
}
console.log(
  JSON.stringify(
    {
      ...stats,
      faults: stats.faults.length,
      heapBaselineMb: +(heapBaseline / 2 ** 20).toFixed(1),
      heapAfterMb: +(heapAfter / 2 ** 20).toFixed(1),
      counter,
      serverClients: clients,
      poolConnections: poolTotal,
    },
    null,
    2,
  ),
);
console.log(violations.length === 0 ? 'SOAK PASSED' : `SOAK FAILED:\n  ${violations.join('\n  ')}`);
process.exit(violations.length === 0 ? 0 : 1);
