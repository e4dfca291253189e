// Rate-limit throughput: RedisThrottlerStorage (nestjs-redis-pool/throttler) against @nestjs/throttler's in-memory
// ThrottlerStorageService and @nest-lab/throttler-storage-redis (ioredis), at 100 concurrent callers, each
// implementation in its own child process against one spawned redis-server, the order rotating between
// repetitions; medians are reported and written to bench/results/throttler.json.
//
// Scenarios: `storage` calls increment() directly; `guard` runs ThrottlerGuard.canActivate() (tracker, SHA-256
// key, increment, headers) on a prepared request per client, i.e. what one HTTP request costs the guard; `busy`
// gives each client some 50 live hits; `blocked` hammers few clients far over their limit.
//
// Usage: node bench/throttler.mjs [--duration 2000] [--warmup 500] [--reps 3] [--concurrency 100]
//          [--only storage,guard,busy,blocked] [--peer-dir /tmp/thr-peer]
// @nest-lab/throttler-storage-redis is not a dependency of this project (its peer range stops at Nest 11): install
// it in a scratch folder and point --peer-dir (or THROTTLER_PEER_DIR) at it, e.g.
//   mkdir -p /tmp/thr-peer && cd /tmp/thr-peer && npm init -y &&
//   npm i @nest-lab/throttler-storage-redis ioredis @nestjs/throttler --legacy-peer-deps
// Its @nestjs/common is resolved from this project's node_modules when the folder has none. Without the folder
// that row is skipped with a message.
import { execFile, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import {
  ensureBuilt,
  exitCleanups,
  machineLine,
  median,
  root,
  runWorker as spawnJsonWorker,
  startRedisServer,
} from './bench-kit.mjs';

const self = fileURLToPath(import.meta.url);
const require = createRequire(import.meta.url);

const OURS = 'nestjs-redis-pool';
const MEMORY = 'in-memory (ThrottlerStorageService)';
const NEST_LAB = '@nest-lab/throttler-storage-redis';
const IMPLEMENTATIONS = [OURS, MEMORY, NEST_LAB];

/** Many clients well under their limit (100 a minute): a dozen live hits each in a run, nothing refused. */
const UNDER_LIMIT = { clients: 10_000, ttl: 60_000, limit: 100, blockDuration: 60_000 };
const SCENARIOS = [
  { id: 'storage', label: 'increment(), 10 000 clients under 100/min', ...UNDER_LIMIT },
  {
    id: 'guard',
    label: 'ThrottlerGuard.canActivate(), 10 000 clients under 100/min',
    ...UNDER_LIMIT,
  },
  {
    id: 'busy',
    label: 'increment(), 1 000 clients at 5 % of 1 000/s (~50 live hits each)',
    clients: 1000,
    ttl: 1000,
    limit: 1000,
    blockDuration: 1000,
  },
  {
    id: 'blocked',
    label: 'increment(), 10 clients far over a limit of 10 per second',
    clients: 10,
    ttl: 1000,
    limit: 10,
    blockDuration: 1000,
  },
];

const { values: args } = parseArgs({
  options: {
    duration: { type: 'string', default: '2000' },
    warmup: { type: 'string', default: '500' },
    reps: { type: 'string', default: '3' },
    concurrency: { type: 'string', default: '100' },
    only: { type: 'string' },
    'peer-dir': { type: 'string', default: process.env.THROTTLER_PEER_DIR },
    worker: { type: 'string' },
  },
});

// ---------------------------------------------------------------------------------------------- worker side

async function openStorage(impl, port, peerDir) {
  const url = `redis://127.0.0.1:${port}`;
  if (impl === OURS) {
    const { ConnectionPool, RedisService } = require(path.join(root, 'dist/index.js'));
    const { RedisThrottlerStorage } = require(path.join(root, 'dist/throttler/index.js'));
    const pool = ConnectionPool.fromUrl(url);
    return {
      storage: new RedisThrottlerStorage(new RedisService(pool)),
      close: () => pool.disconnect(),
    };
  }
  if (impl === MEMORY) {
    const { ThrottlerStorageService } = require('@nestjs/throttler');
    const storage = new ThrottlerStorageService();
    return { storage, close: async () => storage.onApplicationShutdown() };
  }
  const peer = createRequire(path.join(peerDir, 'package.json'));
  const { ThrottlerStorageRedisService } = peer('@nest-lab/throttler-storage-redis');
  const storage = new ThrottlerStorageRedisService(url);
  await storage.redis.ping();
  return { storage, close: async () => storage.onModuleDestroy() };
}

/** One prepared request per client for the guard: what ThrottlerGuard reads from an HTTP context. */
function guardContexts(clients) {
  class BenchController {
    hello() {}
  }
  const response = { header() {} };
  return Array.from({ length: clients }, (_, i) => {
    const request = { ip: `10.0.${i >> 8}.${i & 255}`, headers: {} };
    const http = { getRequest: () => request, getResponse: () => response };
    return {
      getHandler: () => BenchController.prototype.hello,
      getClass: () => BenchController,
      switchToHttp: () => http,
      getType: () => 'http',
    };
  });
}

async function makeHit(job, storage) {
  const { ttl, limit, blockDuration, clients } = job;
  if (job.scenario !== 'guard') {
    const keys = Array.from({ length: clients }, (_, i) => `client-${i}`);
    return async (i) => {
      const record = await storage.increment(
        keys[i % clients],
        ttl,
        limit,
        blockDuration,
        'default',
      );
      return record.isBlocked;
    };
  }
  const { ThrottlerGuard, ThrottlerException } = require('@nestjs/throttler');
  const { Reflector } = require('@nestjs/core');
  const guard = new ThrottlerGuard(
    { throttlers: [{ ttl, limit, blockDuration }] },
    storage,
    new Reflector(),
  );
  await guard.onModuleInit();
  const contexts = guardContexts(clients);
  return async (i) => {
    try {
      await guard.canActivate(contexts[i % clients]);
      return false;
    } catch (error) {
      if (error instanceof ThrottlerException) return true;
      throw error;
    }
  };
}

async function runWorker(job) {
  const { storage, close } = await openStorage(job.impl, job.port, job.peerDir);
  const hit = await makeHit(job, storage);
  const BUCKET_US = 10;
  const buckets = new Uint32Array(100_000);
  let recording = false;
  let stop = false;
  let ops = 0;
  let blocked = 0;
  const caller = async (id) => {
    for (let i = id, n = 0; !stop; i += job.concurrency) {
      // The in-memory storage never waits for I/O: without this its callers would starve the timers.
      if ((++n & 63) === 0) await new Promise((resolve) => setImmediate(resolve));
      const started = process.hrtime.bigint();
      const wasBlocked = await hit(i);
      if (!recording) continue;
      const us = Number(process.hrtime.bigint() - started) / 1000;
      buckets[Math.min(buckets.length - 1, Math.floor(us / BUCKET_US))]++;
      ops++;
      if (wasBlocked) blocked++;
    }
  };
  const percentile = (p) => {
    let seen = 0;
    for (let i = 0; i < buckets.length; i++) {
      seen += buckets[i];
      if (seen >= ops * p) return ((i + 0.5) * BUCKET_US) / 1000;
    }
    return NaN;
  };
  const callers = Array.from({ length: job.concurrency }, (_, id) => caller(id));
  await new Promise((resolve) => setTimeout(resolve, job.warmupMs));
  recording = true;
  const started = process.hrtime.bigint();
  const appCpu = process.cpuUsage();
  const serverCpu = redisCpuSeconds(job.port);
  await new Promise((resolve) => setTimeout(resolve, job.durationMs));
  recording = false;
  const elapsedS = Number(process.hrtime.bigint() - started) / 1e9;
  const { user, system } = process.cpuUsage(appCpu);
  const serverCpuS = (await redisCpuSeconds(job.port)) - (await serverCpu);
  stop = true;
  await Promise.all(callers);
  await close();
  const result = {
    opsPerSec: ops / elapsedS,
    blockedShare: ops === 0 ? 0 : blocked / ops,
    p50Ms: percentile(0.5),
    p99Ms: percentile(0.99),
    rssMb: process.memoryUsage().rss / 2 ** 20,
    // CPU time per call, in µs: steadier than ops/s on a shared machine.
    appCpuUs: ops === 0 ? NaN : (user + system) / ops,
    redisCpuUs: ops === 0 ? NaN : (serverCpuS * 1e6) / ops,
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

/** CPU seconds (user + system) the redis-server has used so far, from INFO cpu. */
function redisCpuSeconds(port) {
  return new Promise((resolve, reject) => {
    execFile('redis-cli', ['-p', String(port), 'INFO', 'cpu'], (error, stdout) => {
      if (error) return reject(error);
      const field = (name) => Number(new RegExp(`${name}:([\\d.]+)`).exec(stdout)?.[1] ?? NaN);
      resolve(field('used_cpu_user') + field('used_cpu_sys'));
    });
  });
}

// ---------------------------------------------------------------------------------------------- parent side

async function main() {
  const durationMs = Number(args.duration);
  const warmupMs = Number(args.warmup);
  const reps = Number(args.reps);
  const concurrency = Number(args.concurrency);
  const scenarios = SCENARIOS.filter(
    (s) => args.only === undefined || args.only.split(',').includes(s.id),
  );
  if (scenarios.length === 0) throw new Error(`no scenario matches --only ${args.only}`);

  const peerDir = args['peer-dir'] && path.resolve(args['peer-dir']);
  const peerReady =
    peerDir !== undefined &&
    existsSync(path.join(peerDir, 'node_modules/@nest-lab/throttler-storage-redis'));
  const impls = IMPLEMENTATIONS.filter((impl) => impl !== NEST_LAB || peerReady);
  if (!peerReady) {
    console.log(
      `Skipping ${NEST_LAB}: ${peerDir === undefined ? 'no --peer-dir (or THROTTLER_PEER_DIR) given' : `not installed in ${peerDir}`}.` +
        ` Install it in a scratch folder (see the head of bench/throttler.mjs) and pass --peer-dir.\n`,
    );
  }

  // The server and workers die with this process, however it ends.
  const cleanups = exitCleanups();

  ensureBuilt(path.join(root, 'dist/throttler/index.js'));

  const redis = await startRedis();
  const machine = machineLine(redis.version);
  console.log(`Machine: ${machine}`);
  console.log(
    `${concurrency} concurrent callers; each figure the median of ${reps} runs of ${durationMs} ms after ${warmupMs} ms warm-up, each implementation in its own process.\n`,
  );
  const report = {
    machine,
    date: new Date().toISOString(),
    reps,
    durationMs,
    warmupMs,
    concurrency,
    command: `node bench/throttler.mjs ${process.argv.slice(2).join(' ')}`.trim(),
    // The machine may be shared: its load average (1 min) at the start, and at the end below.
    loadAverage: { start: os.loadavg()[0] },
    scenarios: [],
  };
  try {
    for (const scenario of scenarios) {
      const runs = Object.fromEntries(impls.map((impl) => [impl, []]));
      for (let rep = 0; rep < reps; rep++) {
        const order = impls.map((_, i) => impls[(i + rep) % impls.length]);
        for (const impl of order) {
          redis.flush();
          const { id, clients, ttl, limit, blockDuration } = scenario;
          const settings = { clients, ttl, limit, blockDuration };
          const job = { impl, scenario: id, ...settings, port: redis.port, peerDir, concurrency };
          try {
            runs[impl].push(await spawnWorker({ ...job, durationMs, warmupMs }, cleanups));
          } catch (error) {
            console.error(`  ${impl}: ${error.message}`);
          }
        }
      }
      report.scenarios.push(summarise(scenario, impls, runs));
    }
  } finally {
    redis.stop();
  }
  report.loadAverage.end = os.loadavg()[0];
  mkdirSync(path.join(root, 'bench/results'), { recursive: true });
  const out = path.join(root, 'bench/results/throttler.json');
  writeFileSync(out, `${JSON.stringify(report, null, 2)}\n`);
  console.log(`Results written to ${path.relative(root, out)}`);
}

function summarise(scenario, impls, runs) {
  const rows = impls
    .filter((impl) => runs[impl].length > 0)
    .map((impl) => ({
      impl,
      opsPerSec: median(runs[impl].map((r) => r.opsPerSec)),
      blockedShare: median(runs[impl].map((r) => r.blockedShare)),
      p50Ms: median(runs[impl].map((r) => r.p50Ms)),
      p99Ms: median(runs[impl].map((r) => r.p99Ms)),
      rssMb: median(runs[impl].map((r) => r.rssMb)),
      appCpuUs: median(runs[impl].map((r) => r.appCpuUs)),
      redisCpuUs: median(runs[impl].map((r) => r.redisCpuUs)),
      runs: runs[impl].map((r) => Math.round(r.opsPerSec)),
    }));
  const ours = rows.find((r) => r.impl === OURS);
  const nestLab = rows.find((r) => r.impl === NEST_LAB);
  const summary = {
    id: scenario.id,
    label: scenario.label,
    settings: {
      clients: scenario.clients,
      ttl: scenario.ttl,
      limit: scenario.limit,
      blockDuration: scenario.blockDuration,
    },
    rows,
    oursVsNestLab: ours && nestLab ? ours.opsPerSec / nestLab.opsPerSec : null,
  };
  console.log(`## ${scenario.label}`);
  console.table(
    rows.map((r) => ({
      implementation: r.impl,
      'ops/s': Math.round(r.opsPerSec).toLocaleString('en-US'),
      blocked: `${(r.blockedShare * 100).toFixed(0)} %`,
      'p50 ms': r.p50Ms.toFixed(3),
      'p99 ms': r.p99Ms.toFixed(3),
      'RSS MB': r.rssMb.toFixed(0),
      'app µs/op': r.appCpuUs.toFixed(1),
      'redis µs/op': r.redisCpuUs.toFixed(1),
      [`vs ${NEST_LAB}`]: nestLab ? (r.opsPerSec / nestLab.opsPerSec).toFixed(2) : '',
    })),
  );
  const ratio = summary.oursVsNestLab;
  console.log(
    `   ours vs ${NEST_LAB}: ${ratio === null ? 'n/a' : `${ratio.toFixed(2)}x (goal ≥ 1.50x)`}\n`,
  );
  return summary;
}

function spawnWorker(job, cleanups) {
  const nodePath = [process.env.NODE_PATH, path.join(root, 'node_modules')].filter(Boolean);
  return spawnJsonWorker({
    script: self,
    args: ['--worker', JSON.stringify(job)],
    env: { ...process.env, NODE_PATH: nodePath.join(path.delimiter) },
    timeoutMs: job.durationMs + job.warmupMs + 60_000,
    label: `${job.impl} ${job.scenario}`,
    cleanups,
  });
}

/** The spawned redis-server, with flush(): FLUSHALL between runs. */
async function startRedis() {
  const redis = await startRedisServer({ tmpPrefix: 'nrp-bench-throttler-' });
  const flush = () => {
    const result = spawnSync('redis-cli', ['-p', String(redis.port), 'FLUSHALL']);
    if (result.status !== 0) throw new Error(`FLUSHALL failed: ${result.stderr}`);
  };
  return { ...redis, flush };
}

if (args.worker !== undefined) {
  await runWorker(JSON.parse(args.worker));
} else {
  await main();
}
