// Turns bench/results/latest.json into an SVG chart: throughput against concurrency, one line per client.
// Usage: node bench/chart.mjs [results.json] [out.svg]
import { readFileSync, writeFileSync } from 'node:fs';

const input = process.argv[2] ?? 'bench/results/latest.json';
const output = process.argv[3] ?? 'docs/bench-throughput.svg';
const report = JSON.parse(readFileSync(input, 'utf8'));
const mixed = report.scenarios
  .filter((s) => s.id.startsWith('mixed-'))
  .sort((a, b) => a.concurrency - b.concurrency);
if (mixed.length === 0) throw new Error('no mixed-* scenarios in the results');

const clients = [...new Set(mixed.flatMap((s) => s.rows.map((r) => r.client)))];
const colors = ['#d6336c', '#1c7ed6', '#74b816', '#f59f00', '#7048e8', '#868e96', '#0ca678'];
const width = 760;
const height = 420;
const pad = { left: 80, right: 230, top: 50, bottom: 60 };
const plotW = width - pad.left - pad.right;
const plotH = height - pad.top - pad.bottom;
const maxY = Math.max(...mixed.flatMap((s) => s.rows.map((r) => r.value))) * 1.1;
const x = (i) => pad.left + (mixed.length === 1 ? plotW / 2 : (i / (mixed.length - 1)) * plotW);
const y = (v) => pad.top + plotH - (v / maxY) * plotH;
const esc = (s) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');

const parts = [
  `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12">`,
  `<rect width="100%" height="100%" fill="#fff"/>`,
  `<text x="${pad.left}" y="24" font-size="15" font-weight="bold">GET/SET throughput against concurrent callers (ops/s, higher is better)</text>`,
  `<text x="${pad.left}" y="40" fill="#555">${esc(report.machine)}; median of ${report.reps} × ${report.durationMs} ms</text>`,
];
for (let t = 0; t <= 5; t++) {
  const v = (maxY / 5) * t;
  parts.push(
    `<line x1="${pad.left}" x2="${pad.left + plotW}" y1="${y(v)}" y2="${y(v)}" stroke="#eee"/>`,
  );
  parts.push(
    `<text x="${pad.left - 8}" y="${y(v) + 4}" text-anchor="end" fill="#555">${Math.round(v / 1000)}k</text>`,
  );
}
mixed.forEach((s, i) => {
  parts.push(
    `<text x="${x(i)}" y="${pad.top + plotH + 20}" text-anchor="middle">${s.concurrency}</text>`,
  );
});
parts.push(
  `<text x="${pad.left + plotW / 2}" y="${height - 15}" text-anchor="middle" fill="#555">concurrent callers</text>`,
);
clients.forEach((client, c) => {
  const color = colors[c % colors.length];
  const points = mixed
    .map((s, i) => [i, s.rows.find((r) => r.client === client)])
    .filter(([, r]) => r !== undefined)
    .map(([i, r]) => [x(i), y(r.value)]);
  const dash = client.startsWith('ceiling') ? ' stroke-dasharray="5 4"' : '';
  parts.push(
    `<polyline fill="none" stroke="${color}" stroke-width="${client.startsWith('nestjs') ? 3 : 2}"${dash} points="${points.map((p) => p.join(',')).join(' ')}"/>`,
  );
  for (const [px, py] of points)
    parts.push(`<circle cx="${px}" cy="${py}" r="3.5" fill="${color}"/>`);
  const ly = pad.top + 10 + c * 20;
  parts.push(
    `<line x1="${width - pad.right + 20}" x2="${width - pad.right + 44}" y1="${ly}" y2="${ly}" stroke="${color}" stroke-width="3"${dash}/>`,
  );
  parts.push(`<text x="${width - pad.right + 50}" y="${ly + 4}">${esc(client)}</text>`);
});
parts.push('</svg>');
writeFileSync(output, `${parts.join('\n')}\n`);
console.log(`Chart written to ${output}`);
