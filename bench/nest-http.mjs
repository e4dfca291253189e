// Nest HTTP end to end: one Nest 12 app shape (bench/nest-http/app.mjs), GET /visit doing five Redis commands,
// served once through each client's Nest module — ours (dist/), @nestjs-modules/ioredis (ioredis) and
// @nestjs-redis/client (node-redis) — and once with an in-memory stand-in for Redis (the ceiling: what Nest,
// Express and autocannon cost alone), each app in its own process against one spawned redis-server, loaded by
// autocannon from this process. Per run: FLUSHALL and seed, start the app, check its first answer is the
// expected JSON, warm up, measure; the order rotates between repetitions (ABCD, BCDA, ...) and medians are
// reported. Results go to bench/results/nest-http.json. Any failed request or app exits non-zero.
// Usage: node bench/nest-http.mjs [--reps 3] [--duration 5000] [--warmup 1000] [--connections 100]
// Timings are measured, never asserted; on a shared machine they are indicative.
/* global fetch */
import { fork, spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { isDeepStrictEqual, parseArgs } from 'node:util';
import autocannon from 'autocannon';
import {
  ensureBuilt,
  exitCleanups,
  freePort,
  machineLine,
  median,
  nextMessage,
  root,
  startRedisServer,
} from './bench-kit.mjs';
import { IOREDIS, NO_REDIS, NODE_REDIS, OURS, PROFILE } from './nest-http/clients.mjs';

const require = createRequire(import.meta.url);
const APP = path.join(root, 'bench/nest-http/app.mjs');
const LABELS = {
  [OURS]: OURS,
  [IOREDIS]: `${IOREDIS} (ioredis)`,
  [NODE_REDIS]: `${NODE_REDIS} (node-redis)`,
  [NO_REDIS]: NO_REDIS,
};
const CLIENT_NAMES = [OURS, IOREDIS, NODE_REDIS, NO_REDIS];
const PEERS = [IOREDIS, NODE_REDIS];
const TARGET = { reqPerSec: 1.3, p99: 0.7 };
/** The first answer of every app after the seed: the same JSON whatever the client. */
const EXPECTED = { hits: 1, session: { hits: 1 }, profile: PROFILE, renewed: true };

const { values: args } = parseArgs({
  options: {
    reps: { type: 'string', default: '3' },
    duration: { type: 'string', default: '5000' },
    warmup: { type: 'string', default: '1000' },
    connections: { type: 'string', default: '100' },
  },
});
const reps = Number(args.reps);
const durationMs = Number(args.duration);
const warmupMs = Number(args.warmup);
const connections = Number(args.connections);

// The server and the apps die with this process, however it ends.
const cleanups = exitCleanups();

/** Forks the app of `name` on a free port; resolves once it serves to { url, call(type), close() }. */
async function startApp(name, redisPort) {
  const label = `${LABELS[name]} app`;
  const port = await freePort();
  const child = fork(APP, [name, String(redisPort), String(port)], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const kill = () => child.kill('SIGKILL');
  cleanups.add(kill);
  const exited = new Promise((resolve) => child.once('exit', resolve));
  exited.then(() => cleanups.delete(kill));
  const call = (type) => {
    const reply = nextMessage(child, type, 10_000, label);
    child.send(type);
    return reply;
  };
  const close = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.send('close');
    const timer = setTimeout(() => {
      console.error(`  ${label} did not exit within 10 s of close: killed`);
      kill();
    }, 10_000);
    await exited;
    clearTimeout(timer);
  };
  try {
    await nextMessage(child, 'listening', 30_000, label);
  } catch (error) {
    kill();
    throw error;
  }
  return { url: `http://127.0.0.1:${port}/visit`, call, close };
}

/** One autocannon run of `ms` against `url`; throws when any request failed. */
async function load(url, ms, label) {
  const result = await autocannon({ url, connections, duration: ms / 1000 });
  const failed = result.errors + result.timeouts + result.non2xx + result.mismatches;
  if (failed > 0 || result.requests.total === 0) {
    throw new Error(
      `${label}: ${result.requests.total} requests, ${result.errors} errors, ${result.timeouts} timeouts, ` +
        `${result.non2xx} non-2xx, ${result.mismatches} mismatches`,
    );
  }
  return result;
}

/** FLUSHALL, then the hash every request reads. */
function seed(port) {
  redisCli(port, 'FLUSHALL');
  redisCli(port, 'HSET', 'bench:profile', ...Object.entries(PROFILE).flat());
}

function redisCli(port, ...command) {
  const run = spawnSync('redis-cli', ['-p', String(port), ...command]);
  if (run.status !== 0) throw new Error(`redis-cli ${command[0]} failed: ${run.stderr}`);
  return run.stdout.toString();
}

/** CPU time (user + system, µs) the redis-server has used so far, from INFO cpu. */
function redisCpuUs(port) {
  const info = redisCli(port, 'INFO', 'cpu');
  const field = (name) => Number(new RegExp(`${name}:([\\d.]+)`).exec(info)?.[1] ?? NaN);
  return (field('used_cpu_user') + field('used_cpu_sys')) * 1e6;
}

/** One measured run of the app of `name`. */
async function runOnce(name, redis) {
  seed(redis.port);
  const app = await startApp(name, redis.port);
  try {
    const response = await fetch(app.url);
    const body = await response.json();
    if (response.status !== 200 || !isDeepStrictEqual(body, EXPECTED)) {
      throw new Error(
        `${LABELS[name]} answered ${response.status} ${JSON.stringify(body)}, expected ${JSON.stringify(EXPECTED)}`,
      );
    }
    if (warmupMs > 0) await load(app.url, warmupMs, `${LABELS[name]} warm-up`);
    await app.call('mark');
    const [loadCpu, serverCpu] = [process.cpuUsage(), redisCpuUs(redis.port)];
    const result = await load(app.url, durationMs, LABELS[name]);
    const { user, system } = process.cpuUsage(loadCpu);
    const redisUs = redisCpuUs(redis.port) - serverCpu;
    const usage = await app.call('report');
    const requests = result.requests.total;
    return {
      reqPerSec: requests / result.duration,
      p50Ms: result.latency.p50,
      p99Ms: result.latency.p99,
      errors: result.errors + result.timeouts,
      non2xx: result.non2xx,
      appCpuUsPerReq: usage.cpuUs / requests,
      redisCpuUsPerReq: redisUs / requests,
      loadCpuUsPerReq: (user + system) / requests,
      rssMb: usage.rssMb,
      maxRssMb: usage.maxRssMb,
    };
  } finally {
    await app.close();
  }
}

function summarise(name, runs) {
  const mid = (key) => median(runs.map((run) => run[key]));
  const sum = (key) => runs.reduce((total, run) => total + run[key], 0);
  return {
    client: name,
    label: LABELS[name],
    reqPerSec: mid('reqPerSec'),
    p50Ms: mid('p50Ms'),
    p99Ms: mid('p99Ms'),
    errors: sum('errors'),
    non2xx: sum('non2xx'),
    appCpuUsPerReq: mid('appCpuUsPerReq'),
    redisCpuUsPerReq: mid('redisCpuUsPerReq'),
    loadCpuUsPerReq: mid('loadCpuUsPerReq'),
    rssMb: mid('rssMb'),
    maxRssMb: mid('maxRssMb'),
    runs: runs.map((run) => Math.round(run.reqPerSec)),
  };
}

async function main() {
  ensureBuilt(path.join(root, 'dist/index.js'));
  const redis = await startRedisServer({ tmpPrefix: 'nrp-bench-nest-http-' });
  const autocannonVersion = require('autocannon/package.json').version;
  const machine = machineLine(redis.version, `autocannon ${autocannonVersion}`);
  console.log(`Machine: ${machine}`);
  console.log(
    `GET /visit (INCR, SET EX, GET, HGETALL + EXPIRE), ${connections} connections; each figure the median of ` +
      `${reps} runs of ${durationMs} ms after ${warmupMs} ms warm-up, each app in its own process.\n`,
  );
  const report = {
    machine,
    date: new Date().toISOString(),
    command: `node bench/nest-http.mjs ${process.argv.slice(2).join(' ')}`.trim(),
    reps,
    durationMs,
    warmupMs,
    connections,
    // The machine may be shared: its load average (1 min) at the start, and at the end below.
    loadAverage: { start: os.loadavg()[0] },
  };
  const runs = Object.fromEntries(CLIENT_NAMES.map((name) => [name, []]));
  try {
    for (let rep = 0; rep < reps; rep++) {
      const order = CLIENT_NAMES.map((_, i) => CLIENT_NAMES[(i + rep) % CLIENT_NAMES.length]);
      for (const name of order) runs[name].push(await runOnce(name, redis));
    }
  } finally {
    redis.stop();
  }
  report.loadAverage.end = os.loadavg()[0];

  const rows = CLIENT_NAMES.map((name) => summarise(name, runs[name]));
  const ceiling = rows.find((row) => row.client === NO_REDIS);
  for (const row of rows) row.ofCeiling = row.reqPerSec / ceiling.reqPerSec;
  const ours = rows.find((row) => row.client === OURS);
  const peers = rows.filter((row) => PEERS.includes(row.client));
  const fastest = peers.reduce((best, row) => (row.reqPerSec > best.reqPerSec ? row : best));
  const steadiest = peers.reduce((best, row) => (row.p99Ms < best.p99Ms ? row : best));
  const ratios = {
    reqPerSecVsBestPeer: ours.reqPerSec / fastest.reqPerSec,
    bestPeerByReqPerSec: fastest.client,
    p99VsBestPeer: ours.p99Ms / steadiest.p99Ms,
    bestPeerByP99: steadiest.client,
  };
  const met = ratios.reqPerSecVsBestPeer >= TARGET.reqPerSec && ratios.p99VsBestPeer <= TARGET.p99;
  Object.assign(report, { rows, ratios, target: { ...TARGET, met } });

  console.table(
    rows.map((row) => ({
      client: row.label,
      'req/s': Math.round(row.reqPerSec).toLocaleString('en-US'),
      'p50 ms': row.p50Ms,
      'p99 ms': row.p99Ms,
      errors: row.errors,
      'non-2xx': row.non2xx,
      // CPU per request of the app, the redis-server and autocannon: steadier than req/s on a shared machine.
      'CPU µs/req app+redis+load': [row.appCpuUsPerReq, row.redisCpuUsPerReq, row.loadCpuUsPerReq]
        .map((us) => us.toFixed(0))
        .join(' + '),
      'RSS MB': row.rssMb.toFixed(0),
      'of ceiling': row.ofCeiling.toFixed(2),
      'runs req/s': row.runs.join(' '),
    })),
  );
  console.log(
    `   ours vs best peer req/s: ${ratios.reqPerSecVsBestPeer.toFixed(2)}x (${LABELS[fastest.client]}; goal ≥ ${TARGET.reqPerSec}x)`,
  );
  console.log(
    `   p99 vs best peer: ${ratios.p99VsBestPeer.toFixed(2)}x (${LABELS[steadiest.client]}; goal ≤ ${TARGET.p99}x)`,
  );
  console.log(`   target ${met ? 'met' : 'not met'}`);

  mkdirSync(path.join(root, 'bench/results'), { recursive: true });
  const out = path.join(root, 'bench/results/nest-http.json');
  writeFileSync(out, `${JSON.stringify(report, null, 2)}\n`);
  console.log(`Results written to ${path.relative(root, out)}`);
}

await main();
