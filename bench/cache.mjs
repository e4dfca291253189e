// cache-manager 7 get/set through Keyv at 100 concurrent callers: RedisKeyvStore (this package's pool, from dist/)
// against @keyv/redis (node-redis). One redis-server spawned on a free port; each run in its own child process,
// the order alternating between repetitions (AB, BA, ...) to cancel drift; medians reported.
// A third client runs cache-manager and Keyv over an in-memory Map: what those two layers allow with no Redis at
// all, the ceiling of any store. Scenario `store` calls the stores directly, without those layers.
// Usage: node bench/cache.mjs [--duration 3000] [--warmup 500] [--reps 3] [--concurrency 100]
//        [--only cache-manager,store] [--dist <a build of lib/, default dist>]
// Writes bench/results/cache.json.
import { mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import net from 'node:net';
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
const OURS = 'RedisKeyvStore (nestjs-redis-pool)';
const THEIRS = '@keyv/redis (node-redis)';
const KEYS = 1000;
const VALUE = { id: 1, name: 'x'.repeat(80) };
const TTL_MS = 60_000;
const CEILING = 'ceiling: cache-manager + Keyv over a Map (no Redis)';
const SCENARIOS = [
  {
    id: 'cache-manager',
    label: 'cache-manager 7 get/set through Keyv',
    goal: 2,
    clients: [OURS, THEIRS, CEILING],
  },
  { id: 'store', label: 'the store alone: store.get/set', clients: [OURS, THEIRS] },
];

/**
 * What the callers run: `get(key)` and `set(key)`, and `close()` for what it opened. Scenario `cache-manager` goes
 * through cache-manager 7 over Keyv over the store (the ceiling client: over an in-memory Map, no Redis at all);
 * scenario `store` calls the store directly with a value as Keyv would have serialized it.
 */
async function makeClient(client, scenario, port, dist) {
  const { createCache } = await import('cache-manager');
  const { Keyv } = await import('keyv');
  let store;
  let close;
  if (client === OURS) {
    const { ConnectionPool } = require(path.join(dist, 'pool/connection-pool.js'));
    const { RedisService } = require(path.join(dist, 'client/redis.service.js'));
    const { RedisKeyvStore } = require(path.join(dist, 'cache/index.js'));
    const pool = new ConnectionPool({ host: '127.0.0.1', port });
    await pool.executeCommand('PING');
    store = new RedisKeyvStore(new RedisService(pool), { namespace: 'keyv' });
    close = () => pool.disconnect();
  } else if (client === THEIRS) {
    const { default: KeyvRedis } = await import('@keyv/redis');
    store = new KeyvRedis(`redis://127.0.0.1:${port}`, { namespace: 'keyv' });
    await store.get('warm-up');
    close = () => store.disconnect();
  } else {
    store = new Map();
    close = async () => undefined;
  }
  if (scenario === 'store') {
    const serialized = JSON.stringify({ value: VALUE, expires: Date.now() + TTL_MS });
    return {
      get: (key) => store.get(`keyv:${key}`),
      set: (key) => store.set(`keyv:${key}`, serialized, TTL_MS),
      check: async (key) => JSON.parse(await store.get(`keyv:${key}`)).value.id === VALUE.id,
      close,
    };
  }
  const cache = createCache({ stores: [new Keyv({ store })] });
  return {
    get: (key) => cache.get(key),
    set: (key) => cache.set(key, VALUE, TTL_MS),
    check: async (key) => (await cache.get(key))?.id === VALUE.id,
    close,
  };
}

/** Worker: runs the callers for warm-up + duration and prints one JSON line. */
async function worker(job) {
  const client = await makeClient(job.client, job.scenario, job.port, job.dist);
  let ops = 0;
  let recording = false;
  let stop = false;
  const latencies = [];
  // Each caller sets a key, reads it back (a hit), and moves on to the next key: gets and sets 1:1.
  const caller = async (id) => {
    let i = id * 10;
    let write = true;
    while (!stop) {
      const key = `bench:${i % KEYS}`;
      const started = process.hrtime.bigint();
      if (write) {
        await client.set(key);
      } else {
        await client.get(key);
        i++;
      }
      write = !write;
      // Lets the timers run even when nothing waits for I/O (the in-memory ceiling).
      if (i % 256 === 0 && write) await new Promise((resolve) => setImmediate(resolve));
      if (recording) {
        ops++;
        if (ops % 16 === 0) latencies.push(Number(process.hrtime.bigint() - started) / 1e6);
      }
    }
  };
  const callers = Array.from({ length: job.concurrency }, (_, id) => caller(id));
  await new Promise((resolve) => setTimeout(resolve, job.warmupMs));
  const serverCpu = await serverCpuSeconds(job.port);
  const cpu = process.cpuUsage();
  recording = true;
  const started = process.hrtime.bigint();
  await new Promise((resolve) => setTimeout(resolve, job.durationMs));
  recording = false;
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const { user, system } = process.cpuUsage(cpu);
  const serverSeconds = (await serverCpuSeconds(job.port)) - serverCpu;
  stop = true;
  await Promise.all(callers);
  // The values must really have gone through Redis: read one back.
  if (!(await client.check(`bench:${KEYS - 1}`))) throw new Error('value did not round-trip');
  await client.close();
  latencies.sort((a, b) => a - b);
  const at = (p) =>
    latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))] ?? NaN;
  process.stdout.write(
    `${JSON.stringify({
      opsPerSec: ops / seconds,
      p50Ms: at(0.5),
      p99Ms: at(0.99),
      rssMb: process.resourceUsage().maxRSS / 1024,
      // CPU per operation, in µs: steadier than ops/s when other work shares the machine.
      clientCpuUs: (user + system) / ops,
      serverCpuUs: (serverSeconds * 1e6) / ops,
    })}\n`,
  );
}

/** used_cpu_user + used_cpu_sys of the server, read with INFO over a socket of its own. */
function serverCpuSeconds(port) {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let text = '';
    socket.on('error', reject);
    socket.on('data', (data) => {
      text += data;
      const used = [...text.matchAll(/used_cpu_(?:user|sys):([\d.]+)/g)];
      if (used.length < 2) return;
      socket.destroy();
      resolve(Number(used[0][1]) + Number(used[1][1]));
    });
    socket.write('*2\r\n$4\r\nINFO\r\n$3\r\ncpu\r\n');
  });
}

async function main(args) {
  const durationMs = Number(args.duration ?? 3000);
  const warmupMs = Number(args.warmup ?? 500);
  const reps = Number(args.reps ?? 3);
  const concurrency = Number(args.concurrency ?? 100);
  const only = args.only?.split(',');
  // --dist: a build of the package elsewhere (tsc -p tsconfig.build.json --outDir <dir>), e.g. while dist/ is rebuilt.
  const dist = path.resolve(root, args.dist ?? 'dist');
  if (args.dist === undefined) ensureBuilt(path.join(dist, 'cache/index.js'));
  // The server and the workers die with this process, however it ends.
  const cleanups = exitCleanups();

  const redis = await startRedisServer({ tmpPrefix: 'nrp-cache-bench-' });
  const machine = machineLine(redis.version);
  console.log(`Machine: ${machine}`);
  console.log(
    `${concurrency} callers, GET/SET 1:1 over ${KEYS} keys; median of ${reps} runs of ${durationMs} ms after ${warmupMs} ms warm-up, each in its own process, the order alternating.\n`,
  );
  const report = {
    machine,
    concurrency,
    reps,
    durationMs,
    warmupMs,
    date: new Date().toISOString(),
  };
  const settings = { ...report, port: redis.port, dist };
  report.scenarios = [];
  try {
    for (const scenario of SCENARIOS.filter((s) => only === undefined || only.includes(s.id))) {
      report.scenarios.push(await runScenario(scenario, settings, cleanups));
    }
  } finally {
    redis.stop();
  }
  mkdirSync(path.join(root, 'bench/results'), { recursive: true });
  const out = path.join(root, 'bench/results/cache.json');
  writeFileSync(out, `${JSON.stringify(report, null, 2)}\n`);
  console.log(`Results written to ${path.relative(root, out)}`);
}

async function runScenario(scenario, settings, cleanups) {
  const { port, dist, concurrency, reps, durationMs, warmupMs } = settings;
  console.log(`## ${scenario.label}`);
  const runs = Object.fromEntries(scenario.clients.map((client) => [client, []]));
  for (let rep = 0; rep < reps; rep++) {
    const order = rep % 2 === 0 ? scenario.clients : [...scenario.clients].reverse();
    for (const client of order) {
      const job = { client, scenario: scenario.id, port, dist, concurrency, durationMs, warmupMs };
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
  const rows = scenario.clients.map((client) => ({
    client,
    opsPerSec: median(runs[client].map((r) => r.opsPerSec)),
    p50Ms: median(runs[client].map((r) => r.p50Ms)),
    p99Ms: median(runs[client].map((r) => r.p99Ms)),
    rssMb: median(runs[client].map((r) => r.rssMb)),
    clientCpuUs: median(runs[client].map((r) => r.clientCpuUs)),
    serverCpuUs: median(runs[client].map((r) => r.serverCpuUs)),
  }));
  const [ours, theirs, ceiling] = rows;
  console.table(
    rows.map((r) => ({
      client: r.client,
      'ops/s': Math.round(r.opsPerSec).toLocaleString('en-US'),
      'p50 ms': r.p50Ms.toFixed(3),
      'p99 ms': r.p99Ms.toFixed(3),
      'RSS MB': r.rssMb.toFixed(0),
      'vs @keyv/redis': (r.opsPerSec / theirs.opsPerSec).toFixed(2),
      'client µs/op': r.clientCpuUs.toFixed(2),
      'server µs/op': r.serverCpuUs.toFixed(2),
    })),
  );
  const ratio = ours.opsPerSec / theirs.opsPerSec;
  const ofCeiling = ceiling === undefined ? null : ours.opsPerSec / ceiling.opsPerSec;
  console.log(
    `   RedisKeyvStore vs @keyv/redis: ${ratio.toFixed(2)}x${scenario.goal ? ` (goal >= ${scenario.goal}x)` : ''}${ofCeiling === null ? '' : `; of the no-Redis ceiling: ${ofCeiling.toFixed(2)}`}\n`,
  );
  return {
    id: scenario.id,
    label: scenario.label,
    goal: scenario.goal,
    rows,
    runs,
    ratio,
    ofCeiling,
  };
}

const args = parseFlags();
if (args.worker !== undefined) {
  await worker(JSON.parse(args.worker));
  process.exit(0);
} else {
  await main(args);
}
