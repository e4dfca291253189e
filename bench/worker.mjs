// Runs one scenario for one client in this process and prints one JSON line of results.
// Usage: node --expose-gc bench/worker.mjs '{"client":"ioredis","scenario":"mixed","port":6379,...}'
// (cluster clients take "nodes":[{"host":"127.0.0.1","port":...}, ...] instead of "port"; "caPath" connects over
// TLS, verifying the server against that CA)
import { readFileSync } from 'node:fs';
import { CLIENTS } from './clients.mjs';

const job = JSON.parse(process.argv[2]);
const {
  scenario,
  port,
  nodes,
  concurrency = 1,
  durationMs = 2000,
  warmupMs = 500,
  poolSize = 10,
  caPath,
} = job;
const KEYS = 1000;
const SMALL = 'x'.repeat(100);
const BIG = Buffer.alloc(1024 * 1024, 'b');

/** Latency histogram in 10 µs buckets up to 1 s: cheap to record, exact enough for p50/p99. */
const BUCKET_US = 10;
const buckets = new Uint32Array(100_000);
let recording = false;
const record = (startedNs) => {
  if (!recording) return;
  const us = Number(process.hrtime.bigint() - startedNs) / 1000;
  buckets[Math.min(buckets.length - 1, Math.floor(us / BUCKET_US))]++;
};
const percentile = (p) => {
  let total = 0;
  for (const c of buckets) total += c;
  let seen = 0;
  for (let i = 0; i < buckets.length; i++) {
    seen += buckets[i];
    if (seen >= total * p) return ((i + 0.5) * BUCKET_US) / 1000;
  }
  return NaN;
};

const tls = caPath === undefined ? undefined : { ca: readFileSync(caPath) };
const client = await CLIENTS[job.client](port, { poolSize, nodes, tls });
let ops = 0;
let bytes = 0;
let stop = false;

async function mixedCaller(id) {
  let i = id;
  while (!stop) {
    const key = `bench:${i++ % KEYS}`;
    const started = process.hrtime.bigint();
    if (i % 2 === 0) await client.get(key);
    else await client.set(key, SMALL);
    record(started);
    if (recording) ops++;
  }
}

async function pipelineCaller() {
  const batch = Array.from({ length: 10_000 }, (_, i) =>
    i % 2 === 0 ? ['SET', `bench:${i % KEYS}`, SMALL] : ['GET', `bench:${i % KEYS}`],
  );
  while (!stop) {
    const started = process.hrtime.bigint();
    const replies = await client.pipeline(batch);
    if (replies.length !== batch.length) throw new Error('pipeline lost replies');
    record(started);
    if (recording) ops += batch.length;
  }
}

/** Cross-slot MGET of 100 keys (of the KEYS set before the run), each checked; ops are MGET calls. */
async function mgetCaller(id) {
  const width = 100;
  for (let i = id; !stop; i++) {
    const keys = Array.from({ length: width }, (_, k) => `bench:${(i * width + k * 7) % KEYS}`);
    const started = process.hrtime.bigint();
    const values = await client.mget(keys);
    if (values.length !== width || values.some((value) => value !== SMALL)) {
      throw new Error('mget: wrong or missing values');
    }
    record(started);
    if (recording) ops++;
  }
}

async function bigCaller(id) {
  const key = `bench:big:${id}`;
  while (!stop) {
    const started = process.hrtime.bigint();
    await client.set(key, BIG);
    const back = await client.getBuffer(key);
    if (back.length !== BIG.length) throw new Error('short read');
    record(started);
    if (recording) {
      ops += 2;
      bytes += 2 * BIG.length;
    }
  }
}

/**
 * Pub/sub: one publisher pipelining PUBLISH in batches, one subscriber on its own connection; ops are messages
 * received. The publisher stays at most WINDOW messages ahead of the subscriber, so the server's output buffer
 * for the subscriber stays bounded (and its pubsub output-buffer limit never cuts it off). Latency is a batch's.
 */
const PUBSUB_BATCH = 100;
const PUBSUB_WINDOW = 5000;
let received = 0;
let caughtUp = null;
async function pubsubPublisher() {
  const channel = 'bench:pubsub';
  await client.subscribe(channel, (message) => {
    if (message.length !== SMALL.length) throw new Error('pubsub: wrong payload');
    received++;
    if (recording) ops++;
    if (caughtUp !== null && received >= caughtUp.at) caughtUp.resolve();
  });
  let sent = 0;
  while (!stop) {
    const started = process.hrtime.bigint();
    const batch = [];
    for (let i = 0; i < PUBSUB_BATCH; i++) batch.push(client.publish(channel, SMALL));
    await Promise.all(batch);
    sent += PUBSUB_BATCH;
    record(started);
    if (sent - received > PUBSUB_WINDOW) {
      await new Promise((resolve) => {
        caughtUp = { at: sent - PUBSUB_WINDOW / 2, resolve };
      });
      caughtUp = null;
    }
  }
}

if (scenario === 'mget') {
  await Promise.all(Array.from({ length: KEYS }, (_, i) => client.set(`bench:${i}`, SMALL)));
}
const callers = [];
for (let c = 0; c < concurrency; c++) {
  if (scenario === 'pipeline') callers.push(pipelineCaller());
  else if (scenario === 'pubsub') callers.push(pubsubPublisher());
  else if (scenario === 'mget') callers.push(mgetCaller(c));
  else if (scenario === 'big') callers.push(bigCaller(c));
  else callers.push(mixedCaller(c));
}
await new Promise((r) => setTimeout(r, warmupMs));
recording = true;
const started = process.hrtime.bigint();
const cpuAtStart = process.cpuUsage();
await new Promise((r) => setTimeout(r, durationMs));
// The client's CPU (user + system, every thread of the process) over the measured window only.
const cpu = process.cpuUsage(cpuAtStart);
recording = false;
const seconds = Number(process.hrtime.bigint() - started) / 1e9;
stop = true;
caughtUp?.resolve();
await Promise.all(callers);
globalThis.gc?.();
const memory = process.memoryUsage();
const result = {
  opsPerSec: ops / seconds,
  mbPerSec: bytes / seconds / 1024 / 1024,
  p50Ms: percentile(0.5),
  p99Ms: percentile(0.99),
  cpuUsPerOp: (cpu.user + cpu.system) / ops,
  // Peak RSS over the whole run (kilobytes from the kernel), not just what is left at the end.
  rssMb: process.resourceUsage().maxRSS / 1024,
  heapMb: memory.heapUsed / 1024 / 1024,
};
await client.close();
process.stdout.write(`${JSON.stringify(result)}\n`);
process.exit(0);
