// The pieces the standalone bench scripts share: their `--name value` flags, a cleanup registry run however the
// process ends, a throwaway redis-server on a free loopback port, a worker child process that prints one JSON
// line, the median, the "Machine: ..." line and building dist/ when it is missing.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (the folder above bench/). */
export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

const READY = 'Ready to accept connections';

/**
 * `--name value` pairs of `argv` as an object ({ name: 'value' }); a later pair wins. Values stay strings, a flag
 * with nothing after it is undefined.
 */
export function parseFlags(argv = process.argv.slice(2)) {
  const pairs = {};
  for (let i = 0; i < argv.length; i++) {
    if (argv[i].startsWith('--')) pairs[argv[i].slice(2)] = argv[i + 1];
  }
  return pairs;
}

/** A free loopback TCP port, as the OS hands it out. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** A function that resolves to a free port it has not handed out before (for several servers at once). */
export function distinctPorts() {
  const taken = new Set();
  return async () => {
    let port;
    do port = await freePort();
    while (taken.has(port));
    taken.add(port);
    return port;
  };
}

let cleanups;

/**
 * The process-wide cleanup registry: a Set of functions run (synchronously) when the process exits; SIGINT and
 * SIGTERM exit with 130 and 143, so they run then too. The handlers are installed on the first call only.
 */
export function exitCleanups() {
  if (cleanups === undefined) {
    cleanups = new Set();
    process.once('exit', () => cleanups.forEach((cleanup) => cleanup()));
    process.once('SIGINT', () => process.exit(130));
    process.once('SIGTERM', () => process.exit(143));
  }
  return cleanups;
}

/**
 * Resolves once `child`'s stdout (and stderr, when piped) contains `text`; rejects when it fails to spawn, exits
 * first or takes longer than `timeoutMs`. The error names `label` and ends with the output seen, when any.
 */
export function waitForOutput(
  child,
  { text = READY, timeoutMs = 10_000, label = 'redis-server' } = {},
) {
  return new Promise((resolve, reject) => {
    let output = '';
    const streams = [child.stdout, child.stderr].filter(Boolean);
    const timer = setTimeout(() => fail('did not start in time'), timeoutMs);
    const fail = (why) => {
      clearTimeout(timer);
      reject(new Error(`${label} ${why}${output === '' ? '' : `\n${output}`}`));
    };
    const onData = (data) => {
      if (output.length < 64 * 1024) output += data;
      if (!output.includes(text)) return;
      clearTimeout(timer);
      for (const stream of streams) {
        stream.off('data', onData);
        // Keep draining so a chatty process never blocks on a full pipe.
        stream.resume();
      }
      child.off('exit', onExit);
      resolve(child);
    };
    const onExit = (code, signal) => fail(`exited (code ${code}, signal ${signal})`);
    for (const stream of streams) stream.on('data', onData);
    child.once('error', (error) => fail(`failed to spawn: ${error.message}`));
    child.once('exit', onExit);
  });
}

/** `redis-server --version`, e.g. "Redis server v=7.2.4 sha=00000000:0 malloc=jemalloc-5.3.0 bits=64 build=...". */
export function redisServerVersion() {
  return spawnSync('redis-server', ['--version']).stdout.toString().trim();
}

/**
 * Starts a throwaway redis-server on a free loopback port (or `port`), no persistence, in a fresh temp dir named
 * `${tmpPrefix}XXXXXX` (or `dir`); `args` go after the defaults (e.g. ['--appendonly', 'yes']). Resolves once it
 * accepts connections to { port, dir, child, version, stop() }; stop() SIGKILLs it and removes the dir, and is
 * also run when this process exits (see exitCleanups).
 * @param {object} [options]
 * @param {string} [options.tmpPrefix] @default 'nrp-bench-'
 * @param {string[]} [options.args] @default []
 * @param {number} [options.timeoutMs] @default 10_000
 */
export async function startRedisServer({
  tmpPrefix = 'nrp-bench-',
  args = [],
  port,
  dir,
  timeoutMs = 10_000,
} = {}) {
  const serverPort = port ?? (await freePort());
  const serverDir = dir ?? mkdtempSync(path.join(os.tmpdir(), tmpPrefix));
  const child = spawnRedisServer(serverPort, serverDir, args);
  const registry = exitCleanups();
  const stop = () => {
    registry.delete(stop);
    child.kill('SIGKILL');
    rmSync(serverDir, { recursive: true, force: true });
  };
  registry.add(stop);
  try {
    await waitForOutput(child, { timeoutMs });
  } catch (error) {
    stop();
    throw error;
  }
  return { port: serverPort, dir: serverDir, child, version: redisServerVersion(), stop };
}

/**
 * Spawns redis-server on `port` in `dir` with no persistence (then `args`), its stdout piped (for waitForOutput)
 * and stderr inherited. The caller owns the process: for a server restarted on the same port and dir.
 */
export function spawnRedisServer(port, dir, args = []) {
  const defaults = [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--save',
    '',
    '--appendonly',
    'no',
  ];
  return spawn('redis-server', [...defaults, '--dir', dir, ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
}

/**
 * Runs `node script ...args` (stdout piped, stderr inherited) and resolves to the last line of its stdout parsed as
 * JSON, when it exits 0; rejects with "`label` exited with `code`" otherwise. It is SIGKILLed after `timeoutMs`,
 * and when this process exits (`cleanups`, default exitCleanups(); null for none).
 * @param {object} options
 * @param {string} options.script
 * @param {string[]} [options.args] @default []
 * @param {NodeJS.ProcessEnv} [options.env] @default process.env
 * @param {number} options.timeoutMs
 * @param {string} [options.label] @default 'worker'
 * @param {Set<Function> | null} [options.cleanups] @default exitCleanups()
 */
export function runWorker({
  script,
  args = [],
  env,
  timeoutMs,
  label = 'worker',
  cleanups = exitCleanups(),
}) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, ...args], {
      stdio: ['ignore', 'pipe', 'inherit'],
      ...(env === undefined ? {} : { env }),
    });
    const kill = () => child.kill('SIGKILL');
    cleanups?.add(kill);
    const timer = setTimeout(kill, timeoutMs);
    let out = '';
    child.stdout.on('data', (data) => (out += data));
    child.on('close', (code) => {
      clearTimeout(timer);
      cleanups?.delete(kill);
      if (code === 0) resolve(JSON.parse(out.trim().split('\n').pop()));
      else reject(new Error(`${label} exited with ${code}`));
    });
  });
}

/** The upper median of `values` (the middle one of an odd count), as every bench reports it. */
export const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

/**
 * "N × CPU model, Node vX, Redis server v=..." (the first 3 words of `redisVersion`), then `extras` after commas:
 * what follows "Machine: " in every bench's output.
 */
export function machineLine(redisVersion, ...extras) {
  const cpus = os.cpus();
  const redis = redisVersion.split(' ').slice(0, 3).join(' ');
  return [
    `${cpus.length} × ${cpus[0]?.model ?? 'cpu'}`,
    `Node ${process.version}`,
    redis,
    ...extras,
  ].join(', ');
}

/**
 * Runs `npm run build` in the repository root when `file` (a path of the build, e.g. dist/cache/index.js) is
 * missing, announcing it unless `quiet`; throws when the build fails.
 * @param {string} file
 * @param {{ quiet?: boolean }} [options] @default { quiet: false }
 */
export function ensureBuilt(file, { quiet = false } = {}) {
  if (existsSync(file)) return;
  if (!quiet) console.log('Building the package first (npm run build)...');
  const build = spawnSync('npm', ['run', 'build'], { cwd: root, stdio: 'inherit' });
  if (build.status !== 0) throw new Error('npm run build failed');
}

/** Resolves to the first IPC message of `type` from `child`; rejects when it exits first or after `timeoutMs`. */
export function nextMessage(child, type, timeoutMs, label = 'child') {
  return new Promise((resolve, reject) => {
    const done = () => {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
    };
    const timer = setTimeout(() => {
      done();
      reject(new Error(`${label}: no '${type}' within ${timeoutMs} ms`));
    }, timeoutMs);
    const onMessage = (message) => {
      if (message?.type !== type) return;
      done();
      resolve(message);
    };
    const onExit = (code, signal) => {
      done();
      reject(new Error(`${label} exited (code ${code}, signal ${signal}) before '${type}'`));
    };
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
}
