// Runs every scenario for every client, each in its own child process against one spawned redis-server (or, for
// the cluster-* scenarios, one spawned 3-master cluster), alternating the client order between repetitions
// (ABAB...) to cancel drift, and reports medians.
// Usage: npm run bench [-- --reps 3 --duration 2000 --warmup 500 --only mixed-100,cluster --clients a,b] (or -- --smoke)
// (--only takes scenario ids or their prefix before the dash: `cluster` is every cluster-* scenario.)
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { exitCleanups, median, runWorker as runKitWorker, startRedisServer } from './bench-kit.mjs';
import { startCluster } from './cluster-servers.mjs';
import { startTlsRedis } from './tls-redis.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = Object.fromEntries(
  process.argv.slice(2).reduce((pairs, arg, i, all) => {
    if (arg.startsWith('--')) pairs.push([arg.slice(2), all[i + 1]]);
    return pairs;
  }, []),
);
// --smoke: CI's check that the bench still runs and prints its table (one short run of one scenario); it fails
// only if a client crashes or no table comes out, never on a figure.
const smoke = process.argv.includes('--smoke');
if (smoke)
  Object.assign(args, { reps: 1, duration: 200, warmup: 50, only: args.only ?? 'mixed-100' });
const reps = Number(args.reps ?? 3);
const durationMs = Number(args.duration ?? 2000);
const warmupMs = Number(args.warmup ?? 500);

const PEERS = ['ioredis', 'ioredis (auto-pipelining)', 'node-redis', 'valkey-glide'];
const OURS = 'nestjs-redis-pool';
// `ceiling` (one write per event-loop iteration, replies decoded) is what "of ceiling" is measured against;
// `ceiling (nextTick)` is the first, weaker one, kept as a second row.
const CEILINGS = ['ceiling', 'ceiling (nextTick)'];
const isCeiling = (client) => CEILINGS.includes(client);
const CLUSTER_CLIENTS = [
  `${OURS} (cluster)`,
  'ioredis Cluster',
  'ioredis Cluster (auto-pipelining)',
  'node-redis cluster',
];
const SCENARIOS = [
  {
    id: 'mixed-1',
    label: 'GET/SET 1:1, 1 caller',
    scenario: 'mixed',
    concurrency: 1,
    clients: [OURS, ...PEERS, ...CEILINGS],
  },
  {
    id: 'mixed-100',
    label: 'GET/SET 1:1, 100 callers',
    scenario: 'mixed',
    concurrency: 100,
    clients: [OURS, ...PEERS, ...CEILINGS],
  },
  {
    id: 'mixed-1000',
    label: 'GET/SET 1:1, 1 000 callers',
    scenario: 'mixed',
    concurrency: 1000,
    clients: [OURS, ...PEERS, ...CEILINGS],
  },
  {
    id: 'pipeline',
    label: '10 000-command pipeline',
    scenario: 'pipeline',
    concurrency: 1,
    clients: [OURS, ...PEERS, ...CEILINGS],
  },
  {
    id: 'big',
    label: '1 MB values SET+GET, 4 callers',
    scenario: 'big',
    concurrency: 4,
    clients: [OURS, ...PEERS, 'ceiling'],
    unit: 'MB/s',
  },
  {
    id: 'tls-100',
    label: 'TLS (verified against a CA), GET/SET 1:1, 100 callers',
    scenario: 'mixed',
    concurrency: 100,
    tls: true,
    clients: [OURS, ...PEERS, 'ceiling'],
  },
  {
    id: 'pubsub',
    label: 'pub/sub, 1 publisher pipelining 100-byte messages, 1 subscriber (messages received)',
    scenario: 'pubsub',
    concurrency: 1,
    clients: [OURS, 'ioredis', 'node-redis', 'valkey-glide'],
    unit: 'msg/s',
  },
  {
    id: 'exclusive',
    label: 'exclusive leases, pool of 10, 100 callers',
    scenario: 'mixed',
    concurrency: 100,
    poolSize: 10,
    clients: [`${OURS} (exclusive)`, 'node-redis (pool)'],
  },
  {
    id: 'cluster-1',
    label: 'cluster of 3 masters, GET/SET 1:1, 1 caller',
    scenario: 'mixed',
    concurrency: 1,
    cluster: true,
    baseline: 'ioredis Cluster',
    clients: CLUSTER_CLIENTS,
  },
  {
    id: 'cluster-100',
    label: 'cluster of 3 masters, GET/SET 1:1, 100 callers',
    scenario: 'mixed',
    concurrency: 100,
    cluster: true,
    baseline: 'ioredis Cluster',
    clients: CLUSTER_CLIENTS,
  },
  {
    id: 'cluster-1000',
    label: 'cluster of 3 masters, GET/SET 1:1, 1 000 callers',
    scenario: 'mixed',
    concurrency: 1000,
    cluster: true,
    baseline: 'ioredis Cluster',
    clients: CLUSTER_CLIENTS,
  },
  {
    id: 'cluster-pipeline',
    label: 'cluster of 3 masters, 10 000-command pipeline (keys on every master)',
    scenario: 'pipeline',
    concurrency: 1,
    cluster: true,
    baseline: 'ioredis Cluster',
    clients: CLUSTER_CLIENTS,
  },
  {
    id: 'cluster-mget',
    label: 'cluster of 3 masters, cross-slot MGET of 100 keys, 10 callers (peers: per-slot loop)',
    scenario: 'mget',
    concurrency: 10,
    cluster: true,
    baseline: 'ioredis Cluster',
    clients: CLUSTER_CLIENTS,
  },
]
  .filter(
    (s) =>
      args.only === undefined ||
      args.only.split(',').some((only) => s.id === only || s.id.startsWith(`${only}-`)),
  )
  // --clients a,b keeps only those clients (exact names), for quick side-by-side runs while profiling.
  .map((s) =>
    args.clients === undefined
      ? s
      : { ...s, clients: s.clients.filter((c) => args.clients.split(',').includes(c)) },
  );
// Scenarios with a set-up of their own (a sentinel topology, a cache or throttler stack), each its own script
// bench/<id>.mjs that spawns its servers, runs every client and prints its table; run after the others.
const STANDALONE = [
  'sentinel-failover',
  'cache',
  'throttler',
  'bullmq',
  'client-cache',
  'observability',
  'nest-http',
].filter(
  (id) =>
    existsSync(path.join(root, 'bench', `${id}.mjs`)) &&
    (args.only === undefined || args.only.split(',').includes(id)),
);
if (SCENARIOS.length === 0 && STANDALONE.length === 0) {
  throw new Error(`no scenario matches --only ${args.only}`);
}

// Servers and workers die with this process, however it ends: normally, on an error, SIGINT or SIGTERM.
const cleanups = exitCleanups();

const startRedis = () => startRedisServer({ tmpPrefix: 'nrp-bench-' });

const runWorker = (job) =>
  runKitWorker({
    script: '--expose-gc',
    args: [path.join(root, 'bench/worker.mjs'), JSON.stringify(job)],
    timeoutMs: durationMs + warmupMs + 60_000,
    label: `${job.client} ${job.scenario}`,
  });

if (!existsSync(path.join(root, 'dist/index.js'))) {
  console.log('Building the package first (npm run build)...');
  spawnSync('npm', ['run', 'build'], { cwd: root, stdio: 'inherit' });
}

const redis = SCENARIOS.some((s) => !s.cluster && !s.tls) ? await startRedis() : null;
const tlsRedis = SCENARIOS.some((s) => s.tls) ? await startTlsRedis(cleanups) : null;
const cluster = SCENARIOS.some((s) => s.cluster) ? await startCluster({ masters: 3 }) : null;
const version = (redis ?? cluster)?.version ?? spawnSync('redis-server', ['--version']).stdout;
const machine = `${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}, ${String(version).split(' ').slice(0, 3).join(' ')}`;
console.log(`Machine: ${machine}`);
console.log(
  `Each figure: median of ${reps} runs of ${durationMs} ms after ${warmupMs} ms warm-up, each client in its own process.\n`,
);
const report = {
  machine,
  reps,
  durationMs,
  warmupMs,
  date: new Date().toISOString(),
  scenarios: [],
};

let failures = 0;
try {
  for (const s of SCENARIOS) {
    const runs = Object.fromEntries(s.clients.map((c) => [c, []]));
    for (let rep = 0; rep < reps; rep++) {
      // Rotate the order each repetition so no client always runs first or last.
      const order = s.clients.map((_, i) => s.clients[(i + rep) % s.clients.length]);
      for (const client of order) {
        try {
          runs[client].push(
            await runWorker({
              client,
              scenario: s.scenario,
              port: s.tls ? tlsRedis.port : redis?.port,
              caPath: s.tls ? tlsRedis.caPath : undefined,
              nodes: s.cluster ? cluster.nodes : undefined,
              concurrency: s.concurrency,
              durationMs,
              warmupMs,
              poolSize: s.poolSize,
            }),
          );
        } catch (error) {
          failures += 1;
          console.error(`  ${client}: ${error.message}`);
        }
      }
    }
    const metric = s.unit === 'MB/s' ? 'mbPerSec' : 'opsPerSec';
    const rows = s.clients
      .filter((c) => runs[c].length > 0)
      .map((client) => ({
        client,
        value: median(runs[client].map((r) => r[metric])),
        opsPerSec: median(runs[client].map((r) => r.opsPerSec)),
        p50Ms: median(runs[client].map((r) => r.p50Ms)),
        p99Ms: median(runs[client].map((r) => r.p99Ms)),
        rssMb: median(runs[client].map((r) => r.rssMb)),
        heapMb: median(runs[client].map((r) => r.heapMb)),
        cpuUsPerOp: median(runs[client].map((r) => r.cpuUsPerOp)),
      }));
    const ours = rows.find((r) => r.client.startsWith(OURS));
    const peers = rows.filter((r) => !r.client.startsWith(OURS) && !isCeiling(r.client));
    const best = peers.reduce((a, b) => (b.value > a.value ? b : a), peers[0]);
    const leanest = peers.reduce((a, b) => (b.cpuUsPerOp < a.cpuUsPerOp ? b : a), peers[0]);
    const smallest = peers.reduce((a, b) => (b.rssMb < a.rssMb ? b : a), peers[0]);
    const baseline = s.baseline ?? 'ioredis';
    const io = rows.find((r) => r.client === baseline);
    const ceiling = rows.find((r) => r.client === 'ceiling');
    const summary = {
      id: s.id,
      label: s.label,
      unit: s.unit ?? 'ops/s',
      concurrency: s.concurrency,
      poolSize: s.poolSize,
      rows,
      vsBestPeer: ours && best ? ours.value / best.value : null,
      bestPeer: best?.client ?? null,
      baseline,
      vsIoredis: ours && io ? ours.value / io.value : null,
      ofCeiling: ours && ceiling ? ours.value / ceiling.value : null,
      rssVsLowestPeer: ours && smallest ? ours.rssMb / smallest.rssMb : null,
      lowestRssPeer: smallest?.client ?? null,
      // CPU per operation (user + sys µs): against the peer that spends the least, and the `ceiling` client.
      cpuVsBestPeer: ours && leanest ? ours.cpuUsPerOp / leanest.cpuUsPerOp : null,
      leanestPeer: leanest?.client ?? null,
      cpuVsCeiling: ours && ceiling ? ours.cpuUsPerOp / ceiling.cpuUsPerOp : null,
    };
    report.scenarios.push(summary);
    console.log(`## ${s.label}`);
    console.table(
      rows.map((r) => ({
        client: r.client,
        [summary.unit]: Math.round(r.value).toLocaleString('en-US'),
        'p50 ms': r.p50Ms.toFixed(3),
        'p99 ms': r.p99Ms.toFixed(3),
        'RSS MB': r.rssMb.toFixed(0),
        'heap MB': r.heapMb.toFixed(1),
        'CPU µs/op': r.cpuUsPerOp.toFixed(2),
        'vs ioredis': io ? (r.value / io.value).toFixed(2) : '',
        'of ceiling': ceiling ? (r.value / ceiling.value).toFixed(2) : '',
      })),
    );
    const f = (x) => (x === null ? 'n/a' : `${x.toFixed(2)}x`);
    console.log(
      `   ours vs best peer (${summary.bestPeer}): ${f(summary.vsBestPeer)}; vs ${baseline}: ${f(summary.vsIoredis)}; of ceiling: ${f(summary.ofCeiling)}\n` +
        `   peak RSS vs lowest peer (${summary.lowestRssPeer}): ${f(summary.rssVsLowestPeer)}; CPU/op vs leanest peer (${summary.leanestPeer}): ${f(summary.cpuVsBestPeer)}; CPU/op vs ceiling: ${f(summary.cpuVsCeiling)}\n`,
    );
  }
} finally {
  redis?.stop();
  tlsRedis?.stop();
  cluster?.stop();
}

mkdirSync(path.join(root, 'bench/results'), { recursive: true });
if (SCENARIOS.length > 0 && !smoke) {
  const out = path.join(root, 'bench/results/latest.json');
  writeFileSync(out, `${JSON.stringify(report, null, 2)}\n`);
  console.log(`Results written to ${path.relative(root, out)}; chart: node bench/chart.mjs`);
}
if (smoke) {
  const printed = report.scenarios.reduce((n, s) => n + s.rows.length, 0);
  if (failures > 0 || printed === 0) {
    console.error(
      `bench smoke failed: ${failures} client run(s) failed, ${printed} row(s) printed`,
    );
    process.exit(1);
  }
  console.log(`bench smoke: ${printed} rows printed, no client failed`);
  process.exit(0);
}
for (const id of STANDALONE) {
  console.log(`\n## ${id} (bench/${id}.mjs)`);
  const run = spawnSync(process.execPath, [path.join(root, 'bench', `${id}.mjs`)], {
    stdio: 'inherit',
  });
  if (run.status !== 0) console.log(`   ${id} exited with ${run.status ?? run.signal}`);
}
