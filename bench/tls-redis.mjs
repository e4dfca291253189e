// A throwaway TLS redis-server for the bench: a CA and a server certificate (SAN localhost and 127.0.0.1, EC
// prime256v1, valid 2 days) made with the openssl CLI in a temp dir, and a redis-server on a free loopback port
// serving TLS only (`--port 0 --tls-port`), no client certificates asked. Clients verify it against caPath.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from './cluster-servers.mjs';

const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

function openssl(args, cwd) {
  const run = spawnSync('openssl', args, { cwd, timeout: 30_000, encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`openssl ${args[0]} failed: ${run.stderr ?? run.error}`);
}

function writeCerts(dir) {
  openssl(
    ['req', '-x509', ...EC, '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2'].concat(
      ['-subj', '/CN=nestjs-redis-pool bench CA'],
      ['-addext', 'basicConstraints=critical,CA:TRUE'],
      ['-addext', 'keyUsage=critical,keyCertSign,cRLSign'],
    ),
    dir,
  );
  openssl(
    ['req', '-new', ...EC, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=localhost'],
    dir,
  );
  writeFileSync(
    path.join(dir, 'server.ext'),
    [
      'basicConstraints=CA:FALSE',
      'keyUsage=critical,digitalSignature',
      'extendedKeyUsage=serverAuth',
      'subjectAltName=DNS:localhost,IP:127.0.0.1',
    ].join('\n') + '\n',
  );
  openssl(
    ['x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key'].concat([
      '-set_serial',
      '0x1d2c3b4a',
      '-days',
      '2',
      '-extfile',
      'server.ext',
      '-out',
      'server.crt',
    ]),
    dir,
  );
}

/** Starts the server; `stop()` kills it and removes the certificates and data dir. Registers it in `cleanups`. */
export async function startTlsRedis(cleanups) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'nrp-bench-tls-'));
  const remove = () => rmSync(dir, { recursive: true, force: true });
  cleanups.add(remove);
  writeCerts(dir);
  const port = await freePort();
  const child = spawn(
    'redis-server',
    ['--port', '0', '--tls-port', String(port), '--bind', '127.0.0.1'].concat(
      ['--tls-cert-file', path.join(dir, 'server.crt')],
      ['--tls-key-file', path.join(dir, 'server.key')],
      ['--tls-ca-cert-file', path.join(dir, 'ca.crt')],
      ['--tls-auth-clients', 'no', '--save', '', '--appendonly', 'no', '--dir', dir],
    ),
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const stop = () => {
    child.kill('SIGKILL');
    remove();
    cleanups.delete(stop);
    cleanups.delete(remove);
  };
  cleanups.add(stop);
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('TLS redis-server did not start')), 10_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`TLS redis-server exited with ${code}`));
    });
    child.stdout.on('data', (d) => {
      if (String(d).includes('Ready to accept connections')) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  return { port, caPath: path.join(dir, 'ca.crt'), stop };
}
