// BullMQ 6 throughput: a Queue and 3 Workers × concurrency 50 processing 10 000 small jobs, on BullMqClient (this
// package's pool, from dist/) against BullMQ on ioredis and on its own node-redis adapter (createNodeRedisClient).
// Each client shares one connection object between the Queue and the Workers, as BullMQ recommends; the Workers'
// blocking connections are its duplicates. One redis-server spawned on a free port; each run in its own child
// process, the order rotating between repetitions to cancel drift; medians reported. Every run checks that each
// job completed exactly once.
// Usage: node bench/bullmq.mjs [--jobs 10000] [--workers 3] [--concurrency 50] [--reps 3]
//        [--max-connections 1] [--dist <a build of lib/, default dist>]
// Writes bench/results/bullmq.json.
import { mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import net from 'node:net';
import path from 'node:path';
import { clearInterval, setInterval } from 'node:timers';
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
const OURS = 'BullMqClient (nestjs-redis-pool)';
const IOREDIS = 'ioredis';
const NODE_REDIS = 'node-redis (createNodeRedisClient)';
const CLIENTS = [OURS, IOREDIS, NODE_REDIS];
const GOAL = 1.5;

/** Sends one command on a socket of its own and resolves the raw reply text (INFO, CLIENT LIST, FLUSHALL). */
function rawCommand(port, words, done) {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let text = '';
    socket.on('error', reject);
    socket.on('data', (data) => {
      text += data;
      if (done(text)) {
        socket.destroy();
        resolve(text);
      }
    });
    socket.write(`*${words.length}\r\n${words.map((w) => `$${w.length}\r\n${w}\r\n`).join('')}`);
  });
}

/** A bulk string reply fully read. */
function bulkDone(text) {
  const header = /^\$(\d+)\r\n/.exec(text);
  return header !== null && Buffer.byteLength(text) >= header[0].length + Number(header[1]) + 2;
}

async function serverCpuSeconds(port) {
  const text = await rawCommand(port, ['INFO', 'cpu'], bulkDone);
  const used = [...text.matchAll(/used_cpu_(?:user|sys):([\d.]+)/g)];
  return Number(used[0][1]) + Number(used[1][1]);
}

/** Connections the server has open, apart from the one asking. */
async function connectionCount(port) {
  const text = await rawCommand(port, ['CLIENT', 'LIST'], bulkDone);
  return text.split('\n').filter((line) => line.startsWith('id=')).length - 1;
}

/** The connection object the Queue and the Workers share, and how to close it. */
async function makeConnection(client, port, job) {
  if (client === OURS) {
    const { ConnectionPool } = require(path.join(job.dist, 'pool/connection-pool.js'));
    const { RedisService } = require(path.join(job.dist, 'client/redis.service.js'));
    const { BullMqClient } = require(path.join(job.dist, 'bullmq/index.js'));
    const pool = new ConnectionPool({
      host: '127.0.0.1',
      port,
      maxConnections: job.maxConnections,
      maxLeases: job.workers + 2,
    });
    await pool.executeCommand('PING');
    return { connection: new BullMqClient(new RedisService(pool)), close: () => pool.disconnect() };
  }
  if (client === IOREDIS) {
    const { default: IORedis } = await import('ioredis');
    const connection = new IORedis({ host: '127.0.0.1', port, maxRetriesPerRequest: null });
    await connection.ping();
    return { connection, close: () => connection.quit() };
  }
  const { createClient } = await import('redis');
  const { createNodeRedisClient } = await import('bullmq');
  const connection = createNodeRedisClient(createClient({ socket: { host: '127.0.0.1', port } }));
  await connection.connect();
  return { connection, close: () => connection.quit() };
}

/** Worker: fills the queue, then times the Workers emptying it, and prints one JSON line. */
async function worker(job) {
  const { Queue, Worker } = await import('bullmq');
  await rawCommand(job.port, ['FLUSHALL'], (text) => text.includes('\r\n'));
  const { connection, close } = await makeConnection(job.client, job.port, job);
  const name = `bench-${process.pid}`;
  const queue = new Queue(name, { connection });
  await queue.waitUntilReady();
  const addStarted = process.hrtime.bigint();
  for (let start = 0; start < job.jobs; start += 1000) {
    const count = Math.min(1000, job.jobs - start);
    await queue.addBulk(
      Array.from({ length: count }, (_, i) => ({ name: 'small', data: { n: start + i } })),
    );
  }
  const addSeconds = Number(process.hrtime.bigint() - addStarted) / 1e9;

  const seen = new Map();
  let completed = 0;
  let finish;
  const finished = new Promise((resolve) => (finish = resolve));
  const workers = Array.from(
    { length: job.workers },
    () =>
      new Worker(
        name,
        async (j) => {
          seen.set(j.id, (seen.get(j.id) ?? 0) + 1);
          return j.data.n;
        },
        { connection, concurrency: job.concurrency, autorun: false },
      ),
  );
  for (const w of workers) {
    w.on('completed', () => {
      if (++completed === job.jobs) finish();
    });
    w.on('error', (error) => process.stderr.write(`worker error: ${error.message}\n`));
    await w.waitUntilReady();
  }
  let connections = await connectionCount(job.port);
  const sampler = setInterval(() => {
    connectionCount(job.port).then((n) => (connections = Math.max(connections, n)));
  }, 100);
  const serverCpu = await serverCpuSeconds(job.port);
  const cpu = process.cpuUsage();
  const started = process.hrtime.bigint();
  for (const w of workers) void w.run();
  await finished;
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const { user, system } = process.cpuUsage(cpu);
  const serverSeconds = (await serverCpuSeconds(job.port)) - serverCpu;
  clearInterval(sampler);
  connections = Math.max(connections, await connectionCount(job.port));

  const counts = await queue.getJobCounts('completed', 'failed');
  const once = seen.size === job.jobs && [...seen.values()].every((n) => n === 1);
  if (counts.completed !== job.jobs || counts.failed !== 0 || !once) {
    throw new Error(`not every job completed exactly once: ${JSON.stringify(counts)}`);
  }
  for (const w of workers) await w.close();
  await queue.close();
  await close();
  process.stdout.write(
    `${JSON.stringify({
      jobsPerSec: job.jobs / seconds,
      addPerSec: job.jobs / addSeconds,
      connections,
      clientCpuUs: (user + system) / job.jobs,
      serverCpuUs: (serverSeconds * 1e6) / job.jobs,
    })}\n`,
  );
}

const round = (value, digits = 0) => Number(value.toFixed(digits));

async function main(args) {
  const settings = {
    jobs: Number(args.jobs ?? 10_000),
    workers: Number(args.workers ?? 3),
    concurrency: Number(args.concurrency ?? 50),
    maxConnections: Number(args['max-connections'] ?? 1),
  };
  const reps = Number(args.reps ?? 3);
  // --dist: a build of the package elsewhere (tsc -p tsconfig.build.json --outDir <dir>), e.g. while dist/ is rebuilt.
  const dist = path.resolve(root, args.dist ?? 'dist');
  if (args.dist === undefined) ensureBuilt(path.join(dist, 'bullmq/index.js'));
  // The server and the workers die with this process, however it ends.
  const cleanups = exitCleanups();

  const redis = await startRedisServer({ tmpPrefix: 'nrp-bullmq-bench-' });
  const bullmqVersion = require('bullmq/package.json').version;
  const machine = machineLine(redis.version, `BullMQ ${bullmqVersion}`);
  console.log(`Machine: ${machine}`);
  console.log(
    `${settings.jobs} jobs, ${settings.workers} Workers × concurrency ${settings.concurrency}; ours on maxConnections ${settings.maxConnections}; median of ${reps} runs, each in its own process, the order rotating.\n`,
  );
  const samples = new Map(CLIENTS.map((client) => [client, []]));
  try {
    for (let rep = 0; rep < reps; rep++) {
      const order = CLIENTS.map((_, i) => CLIENTS[(i + rep) % CLIENTS.length]);
      for (const client of order) {
        const job = { ...settings, client, port: redis.port, dist };
        const result = await runWorker({
          script: fileURLToPath(import.meta.url),
          args: ['--worker', JSON.stringify(job)],
          timeoutMs: 180_000,
          label: client,
          cleanups,
        });
        samples.get(client).push(result);
        console.log(`  run ${rep + 1}: ${client.padEnd(36)} ${round(result.jobsPerSec)} jobs/s`);
      }
    }
  } finally {
    redis.stop();
  }
  const results = CLIENTS.map((client) => {
    const runs = samples.get(client);
    const pick = (key) => median(runs.map((run) => run[key]));
    return {
      client,
      jobsPerSec: round(pick('jobsPerSec')),
      addPerSec: round(pick('addPerSec')),
      connections: Math.max(...runs.map((run) => run.connections)),
      clientCpuUs: round(pick('clientCpuUs'), 1),
      serverCpuUs: round(pick('serverCpuUs'), 1),
      runs: runs.map((run) => round(run.jobsPerSec)),
    };
  });
  const [ours, ...theirs] = results;
  const better = theirs.reduce((a, b) => (b.jobsPerSec > a.jobsPerSec ? b : a));
  const ratio = round(ours.jobsPerSec / better.jobsPerSec, 2);
  console.log(
    `\n${'client'.padEnd(36)} ${'jobs/s'.padStart(8)} ${'add/s'.padStart(8)} ${'conns'.padStart(6)} ${'µs/job app'.padStart(11)} ${'µs/job Redis'.padStart(13)}`,
  );
  for (const r of results) {
    console.log(
      `${r.client.padEnd(36)} ${String(r.jobsPerSec).padStart(8)} ${String(r.addPerSec).padStart(8)} ${String(r.connections).padStart(6)} ${String(r.clientCpuUs).padStart(11)} ${String(r.serverCpuUs).padStart(13)}`,
    );
  }
  for (const other of theirs) {
    console.log(`ours / ${other.client}: ${round(ours.jobsPerSec / other.jobsPerSec, 2)}x`);
  }
  console.log(
    `ours / the better (${better.client}): ${ratio}x (goal ${GOAL}x: ${ratio >= GOAL ? 'met' : 'not met'}); connections held: ${ours.connections} vs ${better.connections}`,
  );
  const report = {
    machine,
    ...settings,
    reps,
    date: new Date().toISOString(),
    results,
    ratioToBetter: ratio,
    goal: GOAL,
  };
  mkdirSync(path.join(root, 'bench/results'), { recursive: true });
  const out = path.join(root, 'bench/results/bullmq.json');
  writeFileSync(out, `${JSON.stringify(report, null, 2)}\n`);
  console.log(`Results written to ${path.relative(root, out)}`);
}

const args = process.argv.slice(2);
if (args[0] === '--worker') {
  worker(JSON.parse(args[1])).then(
    () => process.exit(0),
    (error) => {
      process.stderr.write(`${error.stack ?? error}\n`);
      process.exit(1);
    },
  );
} else {
  main(parseFlags(args)).catch((error) => {
    console.error(error);
    process.exit(1);
  });
}
