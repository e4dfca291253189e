// Spawns a throwaway Redis Cluster of `masters` redis-servers (no replicas) on free loopback ports, joins them
// with `redis-cli --cluster create` and waits until every node reports cluster_state:ok. The servers are killed
// and their directory removed by stop(), and also when this process exits or gets SIGINT/SIGTERM.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { distinctPorts, exitCleanups, redisServerVersion, waitForOutput } from './bench-kit.mjs';

// Kept for the scripts that import it from here; it lives in bench-kit.mjs.
export { freePort } from './bench-kit.mjs';

const START_TIMEOUT_MS = 10_000;
const CREATE_TIMEOUT_MS = 30_000;
const STATE_TIMEOUT_MS = 30_000;

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
  const ready = waitForOutput(child, {
    timeoutMs: START_TIMEOUT_MS,
    label: `redis-server on port ${port}`,
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
  const cleanups = exitCleanups();
  let stopped = false;
  const stop = () => {
    if (stopped) return;
    stopped = true;
    cleanups.delete(stop);
    for (const child of children) child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  };
  cleanups.add(stop);
  try {
    const ports = [];
    const starts = [];
    const fresh = distinctPorts();
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
    const version = redisServerVersion();
    return { nodes: ports.map((port) => ({ host: '127.0.0.1', port })), version, stop };
  } catch (error) {
    stop();
    throw error;
  }
}
