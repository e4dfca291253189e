// Client-side caching (RESP3 CLIENT TRACKING): GET of 100 hot keys at 1 and 100 callers, this package's pool with
// `clientSideCache` (every GET after the first is a hit) against the same pool without it, and against node-redis's
// own client-side cache (`createClient({ RESP: 3, clientSideCache })`) and node-redis without one. One redis-server
// spawned on a free port; each run in its own child process, the order alternating between repetitions (AB, BA...)
// to cancel drift; medians reported.
// Usage: node bench/client-cache.mjs [--duration 2000] [--warmup 500] [--reps 1] [--only hot-1,hot-100]
//        [--dist <a build of lib/, default dist>]
// Writes bench/results/client-cache.json.
import { mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  ensureBuilt,
  exitCleanups,
  machineLine,
  median,
  parseFlags,
  root,
  runWorker,
  startRedisServer,
} from './bench-kit.mjs';

const require = createRequire(import.meta.url);
const OURS = 'nestjs-redis-pool (clientSideCache, hits)';
const OURS_UNCACHED = 'nestjs-redis-pool (no cache)';
const THEIRS = 'node-redis (clientSideCache, hits)';
const THEIRS_UNCACHED = 'node-redis (no cache)';
const CLIENTS = [OURS, OURS_UNCACHED, THEIRS, THEIRS_UNCACHED];
const KEYS = 100;
const VALUE = 'v'.repeat(100);
const SCENARIOS = [
  { id: 'hot-1', label: 'GET of 100 hot keys, 1 caller', concurrency: 1 },
  { id: 'hot-100', label: 'GET of 100 hot keys, 100 callers', concurrency: 100 },
];

/** What the callers run: `get(key)`, `stats()` (the cache's own counters) and `close()`. */
async function makeClient(client, port, dist) {
  if (client === OURS || client === OURS_UNCACHED) {
    const { ConnectionPool } = require(path.join(dist, 'pool/connection-pool.js'));
    const pool = new ConnectionPool({
      host: '127.0.0.1',
      port,
      protocol: 3,
      ...(client === OURS ? { clientSideCache: { maxEntries: 10_000 } } : {}),
    });
    await pool.executeCommand('PING');
    return {
      get: (key) => pool.executeCommand('GET', key),
      stats: () => pool.cacheStats(),
      close: () => pool.disconnect(),
    };
  }
  const { createClient } = await import('redis');
  const redis = createClient({
    url: `redis://127.0.0.1:${port}`,
    RESP: 3,
    ...(client === THEIRS ? { clientSideCache: { maxEntries: 10_000 } } : {}),
  });
  await redis.connect();
  return {
    get: (key) => redis.get(key),
    stats: () => redis.clientSideCache?.stats() ?? null,
    close: () => redis.quit(),
  };
}

/** Worker: fills the keys, runs the callers for warm-up + duration and prints one JSON line. */
async function worker(job) {
  const { createClient } = await import('redis');
  const seed = createClient({ url: `redis://127.0.0.1:${job.port}` });
  await seed.connect();
  await seed.mSet(Array.from({ length: KEYS }, (_, i) => [`hot:${i}`, VALUE]));
  await seed.quit();
  const client = await makeClient(job.client, job.port, job.dist);
  let ops = 0;
  let recording = false;
  let stop = false;
  let wrong = 0;
  // The hot keys' names, made once, as an application's constants would be.
  const names = Array.from({ length: KEYS }, (_, i) => `hot:${i}`);
  const caller = async (id) => {
    let i = id;
    while (!stop) {
      const value = await client.get(names[i % KEYS]);
      if (value !== VALUE) wrong++;
      i++;
      if (recording) ops++;
      // Hits resolve without I/O: let the timers run now and then.
      if (i % 256 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
  };
  const callers = Array.from({ length: job.concurrency }, (_, id) => caller(id));
  await new Promise((resolve) => setTimeout(resolve, job.warmupMs));
  const cpu = process.cpuUsage();
  recording = true;
  const started = process.hrtime.bigint();
  await new Promise((resolve) => setTimeout(resolve, job.durationMs));
  recording = false;
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const { user, system } = process.cpuUsage(cpu);
  stop = true;
  await Promise.all(callers);
  const stats = client.stats();
  await client.close();
  if (wrong > 0) throw new Error(`${wrong} wrong values`);
  process.stdout.write(
    `${JSON.stringify({
      opsPerSec: ops / seconds,
      clientCpuUs: (user + system) / ops,
      rssMb: process.resourceUsage().maxRSS / 1024,
      hitRatio:
        stats === null
          ? null
          : (stats.hits ?? stats.hitCount) /
            ((stats.hits ?? stats.hitCount) + (stats.misses ?? stats.missCount)),
    })}\n`,
  );
}

async function main(args) {
  const durationMs = Number(args.duration ?? 2000);
  const warmupMs = Number(args.warmup ?? 500);
  const reps = Number(args.reps ?? 1);
  const only = args.only?.split(',');
  const dist = path.resolve(root, args.dist ?? 'dist');
  if (args.dist === undefined) ensureBuilt(path.join(dist, 'client-cache/client-cache.js'));
  const cleanups = exitCleanups();

  const redis = await startRedisServer({ tmpPrefix: 'nrp-csc-bench-' });
  const theirVersion = require('@redis/client/package.json').version;
  const machine = machineLine(redis.version, `node-redis ${theirVersion}`);
  console.log(`Machine: ${machine}`);
  console.log(
    `GET over ${KEYS} hot keys of ${VALUE.length} bytes; median of ${reps} run(s) of ${durationMs} ms after ${warmupMs} ms warm-up, each in its own process.\n`,
  );
  const report = {
    machine,
    reps,
    durationMs,
    warmupMs,
    date: new Date().toISOString(),
    scenarios: [],
  };
  try {
    for (const scenario of SCENARIOS.filter((s) => only === undefined || only.includes(s.id))) {
      console.log(`## ${scenario.label}`);
      const runs = Object.fromEntries(CLIENTS.map((client) => [client, []]));
      for (let rep = 0; rep < reps; rep++) {
        const order = rep % 2 === 0 ? CLIENTS : [...CLIENTS].reverse();
        for (const client of order) {
          const job = {
            client,
            port: redis.port,
            dist,
            durationMs,
            warmupMs,
            concurrency: scenario.concurrency,
          };
          const result = await runWorker({
            script: fileURLToPath(import.meta.url),
            args: ['--worker', JSON.stringify(job)],
            timeoutMs: job.durationMs + job.warmupMs + 60_000,
            label: job.client,
            cleanups,
          });
          runs[client].push(result);
          console.log(
            `  run ${rep + 1}: ${client}: ${Math.round(result.opsPerSec).toLocaleString('en-US')} ops/s`,
          );
        }
      }
      const rows = CLIENTS.map((client) => ({
        client,
        opsPerSec: median(runs[client].map((r) => r.opsPerSec)),
        clientCpuUs: median(runs[client].map((r) => r.clientCpuUs)),
        rssMb: median(runs[client].map((r) => r.rssMb)),
        hitRatio: runs[client][0].hitRatio,
      }));
      const [ours, uncached, theirs] = rows;
      console.table(
        rows.map((r) => ({
          client: r.client,
          'ops/s': Math.round(r.opsPerSec).toLocaleString('en-US'),
          'vs ours uncached': (r.opsPerSec / uncached.opsPerSec).toFixed(2),
          'vs node-redis cache': (r.opsPerSec / theirs.opsPerSec).toFixed(2),
          'client µs/op': r.clientCpuUs.toFixed(2),
          'hit ratio': r.hitRatio === null ? '-' : r.hitRatio.toFixed(4),
          'RSS MB': r.rssMb.toFixed(0),
        })),
      );
      const vsUncached = ours.opsPerSec / uncached.opsPerSec;
      const vsTheirs = ours.opsPerSec / theirs.opsPerSec;
      console.log(
        `   cache hits vs uncached: ${vsUncached.toFixed(1)}x${scenario.concurrency === 100 ? ' (goal >= 10x)' : ''}; vs node-redis's cache: ${vsTheirs.toFixed(2)}x (goal >= 2x)\n`,
      );
      report.scenarios.push({ ...scenario, rows, runs, vsUncached, vsTheirs });
    }
  } finally {
    redis.stop();
  }
  mkdirSync(path.join(root, 'bench/results'), { recursive: true });
  const out = path.join(root, 'bench/results/client-cache.json');
  writeFileSync(out, `${JSON.stringify(report, null, 2)}\n`);
  console.log(`Results written to ${path.relative(root, out)}`);
}

const args = parseFlags();
if (args.worker !== undefined) {
  await worker(JSON.parse(args.worker));
  process.exit(0);
} else {
  await main(args);
}
