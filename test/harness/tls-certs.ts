import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { lstat, mkdir, mkdtemp, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A throwaway PKI for TLS tests: a CA, a server cert for localhost/127.0.0.1, a client cert. */
export interface TlsCerts {
  /** Directory holding the PEM files. */
  dir: string;
  caPath: string;
  /** Server certificate, SAN `DNS:localhost, IP:127.0.0.1`. */
  certPath: string;
  keyPath: string;
  /** Client certificate for mutual TLS (`tls-auth-clients yes`). */
  clientCertPath: string;
  clientKeyPath: string;
  ca: Buffer;
  cert: Buffer;
  key: Buffer;
  clientCert: Buffer;
  clientKey: Buffer;
}

const FILES = {
  caKey: 'ca.key',
  ca: 'ca.crt',
  key: 'server.key',
  cert: 'server.crt',
  clientKey: 'client.key',
  clientCert: 'client.crt',
} as const;

const NEW_EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

// Leaf extensions go through an extfile because OpenSSL 3 `x509 -req` ignores the CSR's
// extensions and has no -addext.
const SERVER_EXT = [
  'basicConstraints=CA:FALSE',
  'keyUsage=critical,digitalSignature',
  // clientAuth as well: redis presents the same cert when it dials out (replication over TLS).
  'extendedKeyUsage=serverAuth,clientAuth',
  'subjectAltName=DNS:localhost,IP:127.0.0.1',
].join('\n');

const CLIENT_EXT = [
  'basicConstraints=CA:FALSE',
  'keyUsage=critical,digitalSignature',
  'extendedKeyUsage=clientAuth',
].join('\n');

const cache = new Map<string, Promise<TlsCerts>>();

function openssl(args: string[], cwd: string): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile('openssl', args, { cwd, timeout: 30_000 }, (error, _stdout, stderr) => {
      if (error) {
        reject(new Error(`openssl ${args.join(' ')} failed: ${error.message}\n${stderr}`));
      } else {
        resolve();
      }
    });
  });
}

async function signLeaf(dir: string, name: 'server' | 'client', ext: string): Promise<void> {
  const extPath = join(dir, `${name}.ext`);
  await writeFile(extPath, `${ext}\n`);
  const subject = name === 'server' ? '/CN=localhost' : '/CN=nrp-test-client';
  await openssl(
    [
      'req',
      '-new',
      ...NEW_EC_KEY,
      '-keyout',
      `${name}.key`,
      '-out',
      `${name}.csr`,
      '-subj',
      subject,
    ],
    dir,
  );
  await openssl(
    [
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      FILES.ca,
      '-CAkey',
      FILES.caKey,
      // A random serial avoids a .srl file and clashes between the two leaves.
      '-set_serial',
      `0x${randomBytes(8).toString('hex')}`,
      '-days',
      '2',
      '-extfile',
      extPath,
      '-out',
      `${name}.crt`,
    ],
    dir,
  );
}

async function writePki(dir: string): Promise<void> {
  await openssl(
    [
      'req',
      '-x509',
      ...NEW_EC_KEY,
      '-keyout',
      FILES.caKey,
      '-out',
      FILES.ca,
      '-days',
      '2',
      '-subj',
      '/CN=nestjs-redis-pool test CA',
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    ],
    dir,
  );
  await Promise.all([signLeaf(dir, 'server', SERVER_EXT), signLeaf(dir, 'client', CLIENT_EXT)]);
}

async function loadPki(dir: string): Promise<TlsCerts> {
  const path = (file: string): string => join(dir, file);
  const [ca, cert, key, clientCert, clientKey] = await Promise.all(
    [FILES.ca, FILES.cert, FILES.key, FILES.clientCert, FILES.clientKey].map((file) =>
      readFile(path(file)),
    ),
  );
  return {
    dir,
    caPath: path(FILES.ca),
    certPath: path(FILES.cert),
    keyPath: path(FILES.key),
    clientCertPath: path(FILES.clientCert),
    clientKeyPath: path(FILES.clientKey),
    ca: ca!,
    cert: cert!,
    key: key!,
    clientCert: clientCert!,
    clientKey: clientKey!,
  };
}

function dayStamp(offsetDays: number): string {
  return new Date(Date.now() + offsetDays * 86_400_000)
    .toISOString()
    .slice(0, 10)
    .replace(/-/g, '');
}

async function removeExpiredSharedDirs(prefix: string): Promise<void> {
  const yesterday = dayStamp(-1);
  try {
    for (const entry of await readdir(tmpdir())) {
      const stamp = entry.startsWith(prefix) ? entry.slice(prefix.length) : '';
      if (/^\d{8}$/.test(stamp) && stamp < yesterday) {
        await rm(join(tmpdir(), entry), { recursive: true, force: true });
      }
    }
  } catch {
    // Housekeeping only; another run may be deleting the same dirs.
  }
}

async function isOwnDirectory(dir: string): Promise<boolean> {
  try {
    const stats = await lstat(dir);
    return stats.isDirectory() && stats.uid === (process.getuid?.() ?? stats.uid);
  } catch {
    return false;
  }
}

/**
 * Certs go to one directory per user and UTC day, shared by every process.
 *
 * Jest re-evaluates modules for each test file and never runs exit hooks in its workers, so an
 * in-memory cache alone would regenerate per file and leave a temp dir behind each time. Certs
 * are valid for 2 days, so a dir named after today (or yesterday, for runs crossing midnight)
 * is always usable; older ones are swept.
 */
async function sharedPki(): Promise<TlsCerts> {
  const prefix = `nrp-certs-${process.getuid?.() ?? 'user'}-`;
  const shared = join(tmpdir(), `${prefix}${dayStamp(0)}`);
  if (await isOwnDirectory(shared)) {
    try {
      return await loadPki(shared);
    } catch {
      // Incomplete or foreign content: fall through and build a private copy instead.
      return privatePki(await mkdtemp(join(tmpdir(), 'nrp-certs-')));
    }
  }
  await removeExpiredSharedDirs(prefix);
  // Build aside, then publish with an atomic rename so concurrent runs never see half a PKI.
  const staging = await mkdtemp(`${shared}.tmp-`);
  try {
    await writePki(staging);
    await rename(staging, shared);
    return await loadPki(shared);
  } catch (error) {
    if (await isOwnDirectory(shared)) {
      // Another process published first; theirs is as good as ours.
      await rm(staging, { recursive: true, force: true });
      return loadPki(shared);
    }
    await rm(staging, { recursive: true, force: true });
    throw error;
  }
}

async function privatePki(dir: string): Promise<TlsCerts> {
  await mkdir(dir, { recursive: true });
  await writePki(dir);
  return loadPki(dir);
}

/**
 * Generates (once per process and directory) a CA plus server and client certificates with the
 * `openssl` CLI, EC prime256v1 keys, valid for 2 days.
 *
 * Without `dir`, the PKI lives in a per-user directory under the OS temp dir that is reused
 * across processes for the current day. With `dir`, it is written there (created if needed).
 */
export function generateTlsCerts(dir?: string): Promise<TlsCerts> {
  const key = dir ?? '';
  let pending = cache.get(key);
  if (!pending) {
    pending = dir === undefined ? sharedPki() : privatePki(dir);
    // A failure must not poison the cache: the next caller should get a fresh attempt.
    pending.catch(() => cache.delete(key));
    cache.set(key, pending);
  }
  return pending;
}
