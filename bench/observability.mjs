// What observability costs on the hot path: mixed-100 (GET/SET 1:1, 100 concurrent callers, 100-byte values over
// 1 000 keys) for nestjs-redis-pool with nobody subscribed, with a no-op TracingChannel subscriber on
// nestjs-redis-pool:command, and with the OpenTelemetry bridge on (nestjs-redis-pool/otel: a real SDK tracer with a
// batch span processor and a discarding exporter, plus a meter provider with a reader; every command sampled, and
// 10 % of root spans sampled; and the AsyncLocalStorage context manager alone, which the SDK set-up enables for
// parent spans and which slows every promise of the app); and ioredis and node-redis
// without and with a no-op subscriber on their own command channels. Each variant runs in its own child process
// against one spawned redis-server on loopback, the order rotating between repetitions; medians are reported with
// each variant's ratio to its client's unsubscribed row, and written to bench/results/observability.json.
//
// Usage: node bench/observability.mjs [--duration 2000] [--warmup 500] [--reps 3] [--concurrency 100]
//          [--baseline /path/to/another/build/dist] [--dist dist]
// --baseline adds a row for another build of this package (e.g. one from before the channels existed:
//   git worktree add /tmp/nrp-base <commit> && (cd /tmp/nrp-base && npm ci && npm run build)
//   node bench/observability.mjs --baseline /tmp/nrp-base/dist), for "no subscriber vs today's build".
import { mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ensureBuilt, median, root, runWorker, startRedisServer } from './bench-kit.mjs';

const self = fileURLToPath(import.meta.url);
const require = createRequire(import.meta.url);

const { values: args } = parseArgs({
  options: {
    duration: { type: 'string', default: '2000' },
    warmup: { type: 'string', default: '500' },
    reps: { type: 'string', default: '3' },
    concurrency: { type: 'string', default: '100' },
    baseline: { type: 'string' },
    dist: { type: 'string', default: path.join(root, 'dist') },
    worker: { type: 'string' },
  },
});

const OURS = 'nestjs-redis-pool';
const VARIANTS = [
  { id: `${OURS}, no subscriber`, client: OURS, mode: 'none', base: OURS },
  { id: `${OURS}, TracingChannel subscriber`, client: OURS, mode: 'channel', base: OURS },
  {
    id: `${OURS}, AsyncLocalStorage context manager alone (no subscriber)`,
    client: OURS,
    mode: 'als',
    base: OURS,
  },
  { id: `${OURS}, OpenTelemetry bridge`, client: OURS, mode: 'otel', base: OURS },
  {
    id: `${OURS}, OpenTelemetry bridge, 10 % of root spans sampled`,
    client: OURS,
    mode: 'otel-sampled',
    base: OURS,
  },
  { id: 'ioredis, no subscriber', client: 'ioredis', mode: 'none', base: 'ioredis' },
  {
    id: 'ioredis, ioredis:command subscriber',
    client: 'ioredis',
    mode: 'channel',
    base: 'ioredis',
  },
  { id: 'node-redis, no subscriber', client: 'node-redis', mode: 'none', base: 'node-redis' },
  {
    id: 'node-redis, node-redis:command subscriber',
    client: 'node-redis',
    mode: 'channel',
    base: 'node-redis',
  },
];
if (args.baseline !== undefined) {
  VARIANTS.splice(1, 0, {
    id: `${OURS} (baseline build), no subscriber`,
    client: OURS,
    mode: 'none',
    base: OURS,
    dist: path.resolve(args.baseline),
  });
}

// ---------------------------------------------------------------------------------------------- worker side

const CHANNEL_OF = {
  [OURS]: 'nestjs-redis-pool:command',
  ioredis: 'ioredis:command',
  'node-redis': 'node-redis:command',
};

function subscribeNoop(name) {
  const dc = require('node:diagnostics_channel');
  const noop = () => undefined;
  dc.tracingChannel(name).subscribe({
    start: noop,
    end: noop,
    asyncStart: noop,
    asyncEnd: noop,
    error: noop,
  });
}

/** What an OpenTelemetry SDK set-up enables for parent spans, on its own: its cost is the app's, not the bridge's. */
function startContextManager() {
  const { context } = require('@opentelemetry/api');
  const { AsyncLocalStorageContextManager } = require('@opentelemetry/context-async-hooks');
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
}

function startOtel(dist, sampled) {
  const { instrumentRedisPools } = require(path.join(dist, 'otel/index.js'));
  startContextManager();
  const {
    BasicTracerProvider,
    BatchSpanProcessor,
    ParentBasedSampler,
    TraceIdRatioBasedSampler,
  } = require('@opentelemetry/sdk-trace-base');
  const { MeterProvider, MetricReader } = require('@opentelemetry/sdk-metrics');
  const discard = { export: (_spans, done) => done({ code: 0 }), shutdown: async () => {} };
  const tracerProvider = new BasicTracerProvider({
    ...(sampled && {
      sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(0.1) }),
    }),
    spanProcessors: [new BatchSpanProcessor(discard, { maxQueueSize: 100_000 })],
  });
  class Reader extends MetricReader {
    async onForceFlush() {}
    async onShutdown() {}
  }
  const meterProvider = new MeterProvider({ readers: [new Reader()] });
  return instrumentRedisPools({ tracerProvider, meterProvider });
}

async function openClient(variant, port) {
  if (variant.client === OURS) {
    const dist = variant.dist ?? variant.ownDist;
    if (variant.mode.startsWith('otel')) startOtel(dist, variant.mode === 'otel-sampled');
    else if (variant.mode === 'als') startContextManager();
    else if (variant.mode === 'channel') subscribeNoop(CHANNEL_OF[OURS]);
    const { ConnectionPool } = require(path.join(dist, 'pool/connection-pool.js'));
    const pool = new ConnectionPool({ host: '127.0.0.1', port });
    await pool.executeCommand('PING');
    return {
      get: (k) => pool.executeCommand('GET', k),
      set: (k, v) => pool.executeCommand('SET', k, v),
      close: () => pool.disconnect(),
    };
  }
  if (variant.mode === 'channel') subscribeNoop(CHANNEL_OF[variant.client]);
  if (variant.client === 'ioredis') {
    const { default: Redis } = await import('ioredis');
    const client = new Redis({ host: '127.0.0.1', port, lazyConnect: true });
    await client.connect();
    return {
      get: (k) => client.get(k),
      set: (k, v) => client.set(k, v),
      close: () => client.quit(),
    };
  }
  const { createClient } = await import('redis');
  const client = createClient({ socket: { host: '127.0.0.1', port } });
  client.on('error', () => undefined);
  await client.connect();
  return {
    get: (k) => client.get(k),
    set: (k, v) => client.set(k, v),
    close: () => client.close(),
  };
}

async function worker(job) {
  const client = await openClient(job.variant, job.port);
  const SMALL = 'x'.repeat(100);
  let ops = 0;
  let recording = false;
  let stop = false;
  const caller = async (id) => {
    for (let i = id; !stop; i++) {
      const key = `bench:${i % 1000}`;
      if (i % 2 === 0) await client.get(key);
      else await client.set(key, SMALL);
      if (recording) ops++;
    }
  };
  const callers = Array.from({ length: job.concurrency }, (_, c) => caller(c));
  await new Promise((r) => setTimeout(r, job.warmupMs));
  recording = true;
  const started = process.hrtime.bigint();
  await new Promise((r) => setTimeout(r, job.durationMs));
  recording = false;
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  stop = true;
  await Promise.all(callers);
  await client.close();
  process.stdout.write(`${JSON.stringify({ opsPerSec: ops / seconds })}\n`);
  process.exit(0);
}

// ---------------------------------------------------------------------------------------------- parent side

async function main() {
  const reps = Number(args.reps);
  const durationMs = Number(args.duration);
  const warmupMs = Number(args.warmup);
  const concurrency = Number(args.concurrency);
  ensureBuilt(path.join(path.resolve(args.dist), 'otel/index.js'));
  const redis = await startRedisServer({ tmpPrefix: 'nrp-bench-obs-' });
  const runs = Object.fromEntries(VARIANTS.map((v) => [v.id, []]));
  try {
    for (let rep = 0; rep < reps; rep++) {
      const order = VARIANTS.map((_, i) => VARIANTS[(i + rep) % VARIANTS.length]);
      for (const variant of order) {
        try {
          const job = {
            variant: { ...variant, ownDist: path.resolve(args.dist) },
            port: redis.port,
            concurrency,
            durationMs,
            warmupMs,
          };
          const result = await runWorker({
            script: self,
            args: ['--worker', JSON.stringify(job)],
            timeoutMs: durationMs + warmupMs + 60_000,
            label: variant.id,
          });
          runs[variant.id].push(result.opsPerSec);
        } catch (error) {
          console.error(`  ${variant.id}: ${error.message}`);
        }
      }
    }
  } finally {
    redis.stop();
  }
  const value = (id) => (runs[id].length > 0 ? median(runs[id]) : NaN);
  const rows = VARIANTS.map((v) => {
    const ops = value(v.id);
    const base = value(VARIANTS.find((b) => b.base === v.base && b.mode === 'none' && !b.dist).id);
    return { variant: v.id, opsPerSec: ops, vsUnsubscribed: ops / base };
  });
  console.log(
    `mixed-${concurrency}: median of ${reps} runs of ${durationMs} ms after ${warmupMs} ms warm-up, Node ${process.version}`,
  );
  console.table(
    rows.map((r) => ({
      variant: r.variant,
      'ops/s': Math.round(r.opsPerSec).toLocaleString('en-US'),
      'vs its unsubscribed row': r.vsUnsubscribed.toFixed(3),
    })),
  );
  mkdirSync(path.join(root, 'bench/results'), { recursive: true });
  const out = path.join(root, 'bench/results/observability.json');
  writeFileSync(
    out,
    `${JSON.stringify({ date: new Date().toISOString(), reps, durationMs, warmupMs, concurrency, rows }, null, 2)}\n`,
  );
  console.log(`Results written to ${path.relative(root, out)}`);
}

if (args.worker !== undefined) await worker(JSON.parse(args.worker));
else await main();
