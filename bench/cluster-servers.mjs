// Spawns a throwaway Redis Cluster of `masters` redis-servers (no replicas) on free loopback ports, joins them
// with `redis-cli --cluster create` and waits until every node reports cluster_state:ok. The servers are killed
// and their directory removed by stop(), and also when this process exits or gets SIGINT/SIGTERM.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

const START_TIMEOUT_MS = 10_000;
const CREATE_TIMEOUT_MS = 30_000;
const STATE_TIMEOUT_MS = 30_000;

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

function startNode(dir, port, busPort) {
  const child = spawn(
    'redis-server',
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--cluster-enabled',
      'yes',
      '--cluster-config-file',
      path.join(dir, `nodes-${port}.conf`),
      // Explicit: the default bus port (port + 10000) overflows 65535 for ephemeral ports.
      '--cluster-port',
      String(busPort),
      '--save',
      '',
      '--appendonly',
      'no',
      '--dir',
      dir,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const ready = new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => fail('did not start in time'), START_TIMEOUT_MS);
    const fail = (why) => {
      clearTimeout(timer);
      reject(new Error(`redis-server on port ${port} ${why}\n${output}`));
    };
    const onData = (d) => {
      output += d;
      if (output.includes('Ready to accept connections')) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('error', (e) => fail(`failed to spawn: ${e.message}`));
    child.once('exit', (code) => fail(`exited with ${code}`));
  });
  return { child, ready };
}

function redisCli(args, timeoutMs) {
  return new Promise((resolve, reject) => {
    const child = spawn('redis-cli', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    child.once('error', reject);
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(output);
      else
        reject(new Error(`redis-cli ${args.join(' ')}: code ${code}, signal ${signal}\n${output}`));
    });
  });
}

async function waitForState(ports, masters) {
  const deadline = Date.now() + STATE_TIMEOUT_MS;
  for (;;) {
    const infos = await Promise.all(
      ports.map((p) =>
        redisCli(['-h', '127.0.0.1', '-p', String(p), 'CLUSTER', 'INFO'], 5_000).catch(() => ''),
      ),
    );
    const ok = infos.every(
      (info) =>
        info.includes('cluster_state:ok') &&
        info.includes('cluster_slots_ok:16384') &&
        info.includes(`cluster_known_nodes:${masters}`),
    );
    if (ok) return;
    if (Date.now() > deadline) {
      throw new Error(`cluster not ok after ${STATE_TIMEOUT_MS} ms:\n${infos.join('\n')}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Starts the cluster; resolves to { nodes: [{ host, port }], version, stop() }. */
export async function startCluster({ masters = 3 } = {}) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'nrp-bench-cluster-'));
  const children = [];
  let stopped = false;
  const stop = () => {
    if (stopped) return;
    stopped = true;
    process.off('exit', stop);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    for (const child of children) child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  };
  const onSignal = (signal) => {
    stop();
    process.exit(signal === 'SIGINT' ? 130 : 143);
  };
  process.once('exit', stop);
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const ports = [];
    const starts = [];
    const taken = new Set();
    const fresh = async () => {
      let port;
      do port = await freePort();
      while (taken.has(port));
      taken.add(port);
      return port;
    };
    for (let i = 0; i < masters; i++) {
      const [port, busPort] = [await fresh(), await fresh()];
      const node = startNode(dir, port, busPort);
      children.push(node.child);
      ports.push(port);
      starts.push(node.ready);
    }
    await Promise.all(starts);
    const created = await redisCli(
      [
        '--cluster',
        'create',
        ...ports.map((p) => `127.0.0.1:${p}`),
        '--cluster-replicas',
        '0',
        '--cluster-yes',
      ],
      CREATE_TIMEOUT_MS,
    );
    // redis-cli --cluster reports some refusals with exit code 0.
    if (!created.includes('[OK] All 16384 slots covered')) {
      throw new Error(`redis-cli --cluster create failed:\n${created}`);
    }
    await waitForState(ports, masters);
    const version = spawnSync('redis-server', ['--version']).stdout.toString().trim();
    return { nodes: ports.map((port) => ({ host: '127.0.0.1', port })), version, stop };
  } catch (error) {
    stop();
    throw error;
  }
}
