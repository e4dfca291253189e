import { existsSync, readdirSync, realpathSync } from 'node:fs';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { ConnectionPool } from '../../lib/pool/connection-pool';
import { startTestRedis, TestRedisError, type TestRedis } from '../../lib/testing';
import { canBind, isListening, isRunning } from './process-checks';

/** One round trip on a raw socket (no AUTH): the server's first reply line. */
function rawReply(port: number, command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port }, () => socket.write(`${command}\r\n`));
    socket.setEncoding('utf8').once('data', (data: string) => {
      socket.destroy();
      resolve(data.split('\r\n')[0]!);
    });
    socket.once('error', reject);
  });
}

async function withPool<T>(url: string, fn: (pool: ConnectionPool) => Promise<T>): Promise<T> {
  const pool = ConnectionPool.fromUrl(url, { maxConnections: 1 });
  try {
    return await fn(pool);
  } finally {
    await pool.disconnect();
  }
}

describe('startTestRedis', () => {
  const started: TestRedis[] = [];
  let scratch: string;

  beforeAll(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'nrp-testing-'));
  });

  afterEach(async () => {
    await Promise.all(started.splice(0).map((redis) => redis.stop()));
  });

  afterAll(async () => {
    await rm(scratch, { recursive: true, force: true });
  });

  async function start(options?: Parameters<typeof startTestRedis>[0]): Promise<TestRedis> {
    const redis = await startTestRedis(options);
    started.push(redis);
    return redis;
  }

  /** An executable shell script in the scratch dir. */
  async function script(name: string, body: string): Promise<string> {
    const path = join(scratch, name);
    await writeFile(path, `#!/bin/sh\n${body}\n`);
    await chmod(path, 0o755);
    return path;
  }

  it('starts a redis-server without persistence on a free loopback port that answers PING', async () => {
    const redis = await start();
    expect(redis.url).toBe(`redis://127.0.0.1:${redis.port}`);
    expect(redis.host).toBe('127.0.0.1');
    expect(redis.port).toBeGreaterThan(0);
    expect(redis.port).not.toBe(6379);
    await withPool(redis.url, async (pool) => {
      expect(await pool.executeCommand('PING')).toBe('PONG');
      expect(await pool.executeCommand('CONFIG', 'GET', 'save')).toEqual(['save', '']);
      expect(await pool.executeCommand('CONFIG', 'GET', 'appendonly')).toEqual([
        'appendonly',
        'no',
      ]);
      expect(await pool.executeCommand('CONFIG', 'GET', 'bind')).toEqual(['bind', '127.0.0.1']);
      const info = await pool.executeCommand<string>('INFO', 'server');
      expect(info).toContain(`process_id:${redis.pid}\r\n`);
    });
  });

  it('appends the caller’s args after its own, so they win', async () => {
    const redis = await start({ args: ['--maxmemory', '7mb', '--save', '3600 1'] });
    await withPool(redis.url, async (pool) => {
      expect(await pool.executeCommand('CONFIG', 'GET', 'maxmemory')).toEqual([
        'maxmemory',
        String(7 * 1024 * 1024),
      ]);
      expect(await pool.executeCommand('CONFIG', 'GET', 'save')).toEqual(['save', '3600 1']);
    });
  });

  it('works in a private temp directory that stop() removes, never in the caller’s cwd', async () => {
    const redis = await startTestRedis({ args: ['--appendonly', 'yes'] });
    const [, dir] = await withPool(redis.url, async (pool) => {
      expect(await pool.executeCommand('SAVE')).toBe('OK');
      return pool.executeCommand<[string, string]>('CONFIG', 'GET', 'dir');
    });
    expect(dir.startsWith(realpathSync(tmpdir()))).toBe(true);
    expect(readdirSync(dir).sort()).toEqual(['appendonlydir', 'dump.rdb']);
    expect(existsSync(join(process.cwd(), 'appendonlydir'))).toBe(false);
    await redis.stop();
    expect(existsSync(dir)).toBe(false);
  });

  it('sets a password and puts it, percent-encoded, into the url', async () => {
    const redis = await start({ password: 'p@ss word' });
    expect(redis.url).toBe(`redis://:p%40ss%20word@127.0.0.1:${redis.port}`);
    expect(await rawReply(redis.port, 'PING')).toMatch(/^-NOAUTH/);
    await withPool(redis.url, async (pool) =>
      expect(await pool.executeCommand('PING')).toBe('PONG'),
    );
  });

  it('stop() ends exactly that process, frees its port, and is idempotent', async () => {
    const other = await start();
    const redis = await startTestRedis();
    expect(isRunning(redis.pid)).toBe(true);
    const first = redis.stop();
    expect(redis.stop()).toBe(first);
    await first;
    expect(isRunning(redis.pid)).toBe(false);
    expect(await isListening(redis.port)).toBe(false);
    expect(await canBind(redis.port)).toBe(true);
    await redis.stop();
    expect(isRunning(other.pid)).toBe(true);
    expect(await rawReply(other.port, 'PING')).toBe('+PONG');
  });

  it('stop() resolves for a server that already died', async () => {
    const redis = await startTestRedis();
    process.kill(redis.pid, 'SIGKILL');
    await redis.stop();
    expect(isRunning(redis.pid)).toBe(false);
  });

  it('runs two servers at once, on different ports, each its own process', async () => {
    const [a, b] = await Promise.all([start(), start()]);
    expect(a.port).not.toBe(b.port);
    expect(a.pid).not.toBe(b.pid);
    await withPool(a.url, (pool) => pool.executeCommand('SET', 'who', 'a'));
    await withPool(b.url, (pool) => pool.executeCommand('SET', 'who', 'b'));
    expect(await withPool(a.url, (pool) => pool.executeCommand('GET', 'who'))).toBe('a');
    expect(await withPool(b.url, (pool) => pool.executeCommand('GET', 'who'))).toBe('b');
  });

  it('rejects with a TestRedisError that says how to install Redis when the binary does not exist', async () => {
    const error = await startTestRedis({ binary: '/nonexistent/redis-server' }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(TestRedisError);
    expect(error).toMatchObject({ reason: 'not-found', binary: '/nonexistent/redis-server' });
    expect((error as Error).message).toContain('/nonexistent/redis-server does not exist');
    expect((error as Error).message).toContain('apt-get install -y redis-server');
    expect((error as Error).message).toContain('brew install redis');
  });

  it('rejects with reason spawn-failed when the binary cannot be run', async () => {
    const notExecutable = join(scratch, 'not-executable');
    await writeFile(notExecutable, '#!/bin/sh\n');
    const error = await startTestRedis({ binary: notExecutable }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TestRedisError);
    expect(error).toMatchObject({ reason: 'spawn-failed', binary: notExecutable });
    expect((error as Error).message).toBe(`startTestRedis: cannot run ${notExecutable} (EACCES).`);
  });

  it('rejects with the server’s last output lines when it exits before answering', async () => {
    const error = await startTestRedis({ args: ['--no-such-directive', 'x'] }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(TestRedisError);
    expect(error).toMatchObject({ reason: 'exited' });
    expect((error as TestRedisError).output).toContain('FATAL CONFIG FILE ERROR');
    expect((error as Error).message).toMatch(/exited \(code 1\) before it answered PING/);
    expect((error as Error).message).toContain(">>> 'no-such-directive");
  });

  it('kills a server that does not answer within startTimeoutMs and quotes its output', async () => {
    const pidFile = join(scratch, 'silent.pid');
    const silent = await script(
      'silent-server',
      `echo "warming up on $2"; echo $$ > ${pidFile}; exec sleep 60`,
    );
    const error = await startTestRedis({ binary: silent, startTimeoutMs: 300 }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(TestRedisError);
    expect(error).toMatchObject({ reason: 'timeout' });
    expect((error as Error).message).toMatch(/did not answer PING on port \d+ within 300 ms/);
    expect((error as TestRedisError).output).toMatch(/^warming up on \d+$/);
    expect(isRunning(Number(await readFile(pidFile, 'utf8')))).toBe(false);
  });

  it('tries a new port when the one it picked was taken before the server bound it', async () => {
    const marker = join(scratch, 'clashed-once');
    const clashing = await script(
      'clash-once',
      [
        `if [ ! -e ${marker} ]; then`,
        `  touch ${marker}`,
        '  echo "Warning: Could not create server TCP listening socket: bind: Address already in use"',
        '  exit 1',
        'fi',
        'exec redis-server "$@"',
      ].join('\n'),
    );
    const redis = await start({ binary: clashing });
    expect(await rawReply(redis.port, 'PING')).toBe('+PONG');
  });
});
