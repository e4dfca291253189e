// Prints the README's performance tables (Markdown) from one run's results, so the figures are copied, not typed.
// Usage: node bench/table.mjs [results.json [nest-http.json]]   (npm run bench:table)
// Without arguments it reads the last run: bench/results/latest.json and, if there, bench/results/nest-http.json.
import { existsSync, readFileSync } from 'node:fs';

const report = JSON.parse(readFileSync(process.argv[2] ?? 'bench/results/latest.json', 'utf8'));
const nestFile = process.argv[3] ?? (process.argv[2] ? null : 'bench/results/nest-http.json');
const nest = nestFile && existsSync(nestFile) ? JSON.parse(readFileSync(nestFile, 'utf8')) : null;
const OURS = 'nestjs-redis-pool';
const scenario = (id) => report.scenarios.find((s) => s.id === id);
const int = (n) => Math.round(n).toLocaleString('en-US').replace(/,/g, ' ');
const ratio = (n) => (n == null ? '—' : `${n.toFixed(2)}x`);
const ours = (s) => s.rows.find((r) => r.client.startsWith(OURS));
const callers = (n) => (n === 1 ? '1 caller' : `${int(n)} callers`);
const isCeiling = (client) => client.startsWith('ceiling');
const cpu = (row) => (row?.cpuUsPerOp == null ? '—' : row.cpuUsPerOp.toFixed(2));

function table(header, rows) {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const line = (cells) => `| ${cells.map((c, i) => String(c).padEnd(widths[i])).join(' | ')} |`;
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

const out = [];
const main = ['mixed-1', 'mixed-100', 'mixed-1000', 'pipeline', 'big']
  .map(scenario)
  .filter(Boolean);
if (main.length > 0) {
  const clients = main[0].rows.map((r) => r.client);
  out.push(
    table(
      ['Scenario', ...clients, 'ours vs best peer'],
      main.map((s) => [
        `${s.label} (${s.unit})`,
        ...clients.map((c) => {
          const row = s.rows.find((r) => r.client === c);
          return row === undefined ? '—' : int(row.value);
        }),
        ratio(s.vsBestPeer),
      ]),
    ),
  );
  const latency = ['mixed-100', 'mixed-1000'].map(scenario).filter(Boolean);
  const cpuAt = ['mixed-1', 'mixed-100'].map(scenario).filter(Boolean);
  const rss = scenario('mixed-1000');
  out.push(
    table(
      [
        'Latency, memory, CPU',
        ...latency.map((s) => `p50 / p99 (ms), ${callers(s.concurrency)}`),
        ...(rss ? ['peak RSS (MB), 1 000 callers'] : []),
        ...cpuAt.map((s) => `CPU (µs/op), ${callers(s.concurrency)}`),
      ],
      clients
        .filter((c) => !isCeiling(c) || c === 'ceiling')
        .map((c) => [
          c,
          ...latency.map((s) => {
            const row = s.rows.find((r) => r.client === c);
            return row ? `${row.p50Ms.toFixed(3)} / ${row.p99Ms.toFixed(3)}` : '—';
          }),
          ...(rss ? [int(rss.rows.find((r) => r.client === c)?.rssMb ?? NaN)] : []),
          ...cpuAt.map((s) => cpu(s.rows.find((r) => r.client === c))),
        ]),
    ),
  );
}

// TLS and pub/sub: one row per client, with ours against the best peer.
for (const s of ['tls-100', 'pubsub'].map(scenario).filter(Boolean)) {
  out.push(
    table(
      [s.label, s.unit, 'CPU (µs/op)', `vs ${s.bestPeer}`],
      s.rows.map((r) => [
        r.client,
        int(r.value),
        cpu(r),
        ratio(r.value / s.rows.find((x) => x.client === s.bestPeer).value),
      ]),
    ),
  );
}

const exclusive = scenario('exclusive');
if (exclusive !== undefined) {
  const peer = exclusive.rows.find((r) => r.client === exclusive.bestPeer);
  const size = exclusive.poolSize ?? 10;
  out.push(
    `Exclusive leases (\`dispatch: 'exclusive'\`, pool of ${size}, ${exclusive.concurrency} callers): ` +
      `${int(ours(exclusive).value)} ops/s against ${peer.client} with ${size} clients at ` +
      `${int(peer.value)} ops/s (${ratio(exclusive.vsBestPeer)}).`,
  );
}

const cluster = ['cluster-1', 'cluster-100'].map(scenario).filter(Boolean);
if (cluster.length > 0) {
  const base = (s) => s.rows.find((r) => r.client === 'ioredis Cluster').value;
  out.push(
    table(
      [
        'Client',
        ...cluster.flatMap((s) => [`${callers(s.concurrency)} ops/s`, 'vs ioredis Cluster']),
      ],
      cluster[0].rows.map((row) => [
        row.client,
        ...cluster.flatMap((s) => {
          const r = s.rows.find((x) => x.client === row.client);
          return [int(r.value), ratio(r.value / base(s))];
        }),
      ]),
    ),
  );
}

// The targets of issue 18, each with the ratio this run measured (computed by run.mjs). "Of ceiling" is against
// the `ceiling` row (one write per event-loop iteration, replies decoded); CPU is user + sys µs per operation.
const TARGETS = [
  ['mixed-1', 'ofCeiling', '1 caller, of ceiling', 0.97],
  ['mixed-1', 'vsBestPeer', '1 caller, vs best peer', 1.05],
  ['mixed-100', 'ofCeiling', '100 callers, of ceiling', 0.97],
  ['mixed-1000', 'ofCeiling', '1 000 callers, of ceiling', 0.97],
  ['pipeline', 'ofCeiling', '10 000-command pipeline, of ceiling', 0.95],
  ['big', 'vsBestPeer', '1 MB values (MB/s), vs best peer', 1.5],
  ['big', 'ofCeiling', '1 MB values (MB/s), of ceiling', 0.9],
  ['mixed-1', 'cpuVsBestPeer', '1 caller, CPU/op vs leanest peer', 0.7, 'at most'],
  ['mixed-100', 'cpuVsBestPeer', '100 callers, CPU/op vs leanest peer', 0.2, 'at most'],
  ['mixed-100', 'cpuVsCeiling', '100 callers, CPU/op vs ceiling', 1.1, 'at most'],
  ['tls-100', 'vsBestPeer', 'TLS, 100 callers, vs best peer', 3.0],
  ['pubsub', 'vsBestPeer', 'pub/sub messages/s, vs best peer', 1.5],
  ['mixed-1000', 'rssVsLowestPeer', '1 000 callers, peak RSS vs lowest peer', 0.8, 'at most'],
  ['exclusive', 'vsBestPeer', 'exclusive, pool of 10, vs node-redis pool', 2.0],
];
// The Nest HTTP scenario (bench/nest-http.mjs): its own table, and its two targets.
if (nest !== null) {
  out.push(
    table(
      [`Nest HTTP, ${nest.connections} connections`, 'req/s', 'p50 / p99 (ms)', 'of ceiling'],
      nest.rows.map((r) => [
        r.label ?? r.client,
        int(r.reqPerSec),
        `${r.p50Ms} / ${r.p99Ms}`,
        r.ofCeiling.toFixed(2),
      ]),
    ),
  );
}
const nestTargets =
  nest === null
    ? []
    : [
        ['Nest HTTP req/s, vs best peer', nest.ratios.reqPerSecVsBestPeer, nest.target.reqPerSec],
        ['Nest HTTP p99, vs best peer', nest.ratios.p99VsBestPeer, nest.target.p99, 'at most'],
      ].map(([what, measured, goal, atMost]) => [
        what,
        `${atMost ? '≤' : '≥'} ${goal.toFixed(2)}`,
        measured.toFixed(2),
        (atMost ? measured <= goal : measured >= goal) ? 'met' : 'missed',
      ]);
const targets = TARGETS.filter(([id, field]) => scenario(id)?.[field] != null).map(
  ([id, field, what, goal, atMost]) => {
    const measured = scenario(id)[field];
    const met = atMost ? measured <= goal : measured >= goal;
    return [
      what,
      `${atMost ? '≤' : '≥'} ${goal.toFixed(2)}`,
      measured.toFixed(2),
      met ? 'met' : 'missed',
    ];
  },
);
targets.push(...nestTargets);
if (targets.length > 0) out.push(table(['Target', 'goal', 'measured', ''], targets));

process.stdout.write(`${report.machine}; ${report.date}\n\n${out.join('\n\n')}\n`);
