// The npm registry reachable from this project's machines serves only the linux-x64 builds of platform-specific
// packages (e.g. @swc/core-darwin-arm64 is a 404), so `npm install` cannot record the other platforms' optional
// binaries in package-lock.json, and `npm ci` then rejects the lockfile as out of sync. This adds an entry for
// each missing optional platform package, marked optional with the os/cpu its name states, so that `npm ci`
// accepts the lockfile and skips those packages on a platform they do not match.
// Usage: node scripts/complete-lockfile.mjs   (after `npm install`)
import { readFileSync, writeFileSync } from 'node:fs';

const OS = [
  'darwin',
  'linux',
  'win32',
  'freebsd',
  'android',
  'openharmony',
  'sunos',
  'aix',
  'netbsd',
  'openbsd',
];
const CPU = [
  'arm64',
  'x64',
  'ia32',
  'arm',
  'ppc64',
  's390x',
  'riscv64',
  'loong64',
  'wasm32',
  'mips64el',
];

function platformOf(name) {
  const words = name.split('/').pop().split('-');
  const os = words.find((w) => OS.includes(w));
  const cpu =
    words.find((w) => CPU.includes(w)) ??
    (words.includes('armv7') || words.includes('arm') ? 'arm' : undefined);
  const libc = words.some((w) => w.startsWith('musl'))
    ? 'musl'
    : words.some((w) => w.startsWith('gnu'))
      ? 'glibc'
      : undefined;
  return { os, cpu, libc };
}

const path = 'package-lock.json';
const lock = JSON.parse(readFileSync(path, 'utf8'));
const packages = lock.packages;
let added = 0;
for (const [location, entry] of Object.entries(packages)) {
  for (const [dep, range] of Object.entries(entry.optionalDependencies ?? {})) {
    const base = location === '' ? '' : `${location}/`;
    if (packages[`${base}node_modules/${dep}`] || packages[`node_modules/${dep}`]) continue;
    const { os, cpu, libc } = platformOf(dep);
    if (os === undefined && cpu === undefined) continue;
    const record = { version: range.replace(/^[\^~=]/, ''), optional: true };
    if (os !== undefined) record.os = [os];
    if (cpu !== undefined) record.cpu = [cpu];
    if (libc !== undefined && os === 'linux') record.libc = [libc];
    packages[`node_modules/${dep}`] = record;
    added++;
  }
}
lock.packages = Object.fromEntries(
  Object.entries(packages).sort(([a], [b]) => (a === '' ? -1 : b === '' ? 1 : a < b ? -1 : 1)),
);
writeFileSync(path, `${JSON.stringify(lock, null, 2)}\n`);
console.log(`complete-lockfile: added ${added} optional platform entries`);
