import { inspect } from 'node:util';
import {
  AuthenticationError,
  ConnectionError,
  RedisError,
  ResponseError,
} from '../../lib/errors/redis-pool.errors';
import { ConnectionPool } from '../../lib/pool/connection-pool';
import type { PoolOptions } from '../../lib/pool/pool-options';
import { useRedisServer } from '../harness';
import { expectOwnReply, sleep, watchUnhandledRejections } from './pool-checks';

const PASSWORD = 'hunter2-s3cret';
const ALICE_PASSWORD = 'alice-pw-9f8e';

/** Every place a secret could leak from an error: message, properties, inspect, JSON, cause chain. */
function expectNoSecret(error: unknown, ...secrets: string[]): void {
  const views: string[] = [];
  let current: unknown = error;
  for (let depth = 0; current !== undefined && current !== null && depth < 5; depth++) {
    views.push(
      String(current),
      inspect(current, { depth: 5, showHidden: true }),
      JSON.stringify(current) ?? '',
    );
    current = (current as { cause?: unknown }).cause;
  }
  for (const secret of secrets) for (const view of views) expect(view).not.toContain(secret);
}

/** Runs `fn` for a while and counts connect attempts through the pool's error events. */
async function connectAttemptsWhile(
  pool: ConnectionPool,
  ms: number,
  fn: () => Promise<unknown>,
): Promise<number> {
  let attempts = 0;
  const count = () => attempts++;
  pool.on('error', count);
  const until = Date.now() + ms;
  while (Date.now() < until) {
    await fn().catch(() => undefined);
    await sleep(2);
  }
  pool.off('error', count);
  return attempts;
}

describe('authentication and ACL (RELIABILITY 18, 19)', () => {
  const server = useRedisServer({
    password: PASSWORD,
    users: [`alice on >${ALICE_PASSWORD} ~app:* &* +@all -flushall -config`],
  });
  watchUnhandledRejections();
  const pools: ConnectionPool[] = [];
  const open = (options: PoolOptions) => {
    const pool = new ConnectionPool({
      host: server().host,
      port: server().port,
      connectTimeoutMs: 1000,
      ...options,
    });
    pools.push(pool);
    return pool;
  };
  afterEach(async () => {
    await Promise.all(pools.splice(0).map((p) => p.disconnect()));
  });

  it.each([2, 3] as const)('connects with the right password (protocol %i)', async (protocol) => {
    const pool = open({ password: PASSWORD, protocol });
    await expectOwnReply(pool);
  });

  it('connects from a URL with a percent-encoded ACL user and password', async () => {
    const pool = new ConnectionPool({
      url: `redis://alice:${encodeURIComponent(ALICE_PASSWORD)}@${server().host}:${server().port}`,
    });
    pools.push(pool);
    await expect(pool.executeCommand('ACL', 'WHOAMI')).resolves.toBe('alice');
  });

  it.each([
    ['a wrong password', { password: 'wrong-pass' }, /WRONGPASS|invalid password/],
    ['a missing password', {}, /NOAUTH/],
    ['a wrong ACL password', { username: 'alice', password: 'nope' }, /WRONGPASS/],
    ['an unknown user', { username: 'mallory', password: PASSWORD }, /WRONGPASS/],
  ] as Array<[string, PoolOptions, RegExp]>)(
    '%s is an AuthenticationError, fast, never retried in a loop, secret nowhere',
    async (_name, options, message) => {
      for (const protocol of [2, 3] as const) {
        const pool = open({ ...options, protocol });
        const logged: unknown[] = [];
        pool.on('down', (e: unknown) => logged.push(e));
        const started = Date.now();
        const error = await pool.executeCommand('PING').catch((e: unknown) => e);
        expect(Date.now() - started).toBeLessThan(1000);
        expect(error).toBeInstanceOf(AuthenticationError);
        expect(error).toBeInstanceOf(ResponseError);
        expect((error as Error).message).toMatch(message);
        expectNoSecret(error, 'wrong-pass', 'nope', PASSWORD);
        logged.forEach((e) => expectNoSecret(e, 'wrong-pass', 'nope', PASSWORD));
        expectNoSecret(pool, 'wrong-pass', 'nope', PASSWORD);
        const attempts = await connectAttemptsWhile(pool, 500, () => pool.executeCommand('PING'));
        expect(attempts).toBeLessThan(10);
        const lease = await pool.getConnection().catch((e: unknown) => e);
        expect(lease).toBeInstanceOf(AuthenticationError);
      }
    },
  );

  it('an ACL user lacking a permission gets ResponseError NOPERM, and the pool stays healthy', async () => {
    const pool = open({ username: 'alice', password: ALICE_PASSWORD });
    const denied = await pool.executeCommand('SET', 'other:key', 'x').catch((e: unknown) => e);
    expect(denied).toBeInstanceOf(ResponseError);
    expect(denied).not.toBeInstanceOf(AuthenticationError);
    expect((denied as ResponseError).code).toBe('NOPERM');
    const flush = await pool.executeCommand('FLUSHALL').catch((e: unknown) => e);
    expect((flush as ResponseError).code).toBe('NOPERM');
    await expect(pool.executeCommand('SET', 'app:ok', 'v')).resolves.toBe('OK');
    await expect(pool.executeCommand('GET', 'app:ok')).resolves.toBe('v');
  });

  it('19: a db out of range at connect is a clear error, fast', async () => {
    const pool = open({ password: PASSWORD, db: 99 });
    const started = Date.now();
    const error = await pool.executeCommand('PING').catch((e: unknown) => e);
    expect(Date.now() - started).toBeLessThan(1000);
    expect(error).toBeInstanceOf(ResponseError);
    expect((error as Error).message).toMatch(
      /DB index is out of range \(SELECT while connecting to 127\.0\.0\.1:\d+\)/,
    );
    expectNoSecret(error, PASSWORD);
    const attempts = await connectAttemptsWhile(pool, 300, () => pool.executeCommand('PING'));
    expect(attempts).toBeLessThan(8);
  });
});

describe('TLS (RELIABILITY 21)', () => {
  const server = useRedisServer({ tls: true });
  watchUnhandledRejections();
  const pools: ConnectionPool[] = [];
  const open = (options: PoolOptions) => {
    const pool = new ConnectionPool({ host: server().host, connectTimeoutMs: 1000, ...options });
    pools.push(pool);
    return pool;
  };
  afterEach(async () => {
    await Promise.all(pools.splice(0).map((p) => p.disconnect()));
  });
  const certs = () => {
    const c = server().certs;
    if (c === undefined) throw new Error('the TLS server has no certificates');
    return c;
  };

  it('works with the CA, verifying the IP address SAN', async () => {
    const pool = open({ port: server().tlsPort, tls: { ca: certs().ca } });
    await expectOwnReply(pool);
  });

  it('works with the CA by host name (SNI) and with a client certificate', async () => {
    const pool = open({
      host: 'localhost',
      port: server().tlsPort,
      tls: { ca: certs().ca, cert: certs().clientCert, key: certs().clientKey },
    });
    await expectOwnReply(pool);
  });

  it('works from a rediss:// URL with the CA in the options', async () => {
    const pool = new ConnectionPool({
      url: `rediss://127.0.0.1:${server().tlsPort}`,
      tls: { ca: certs().ca },
    });
    pools.push(pool);
    await expectOwnReply(pool);
  });

  it('refuses a self-signed chain without the CA, and does not retry it as transient', async () => {
    const pool = open({ port: server().tlsPort, tls: true });
    const error = await pool.executeCommand('PING').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectionError);
    expect(String((error as Error).message)).toMatch(/certificate/i);
    const attempts = await connectAttemptsWhile(pool, 500, () => pool.executeCommand('PING'));
    expect(attempts).toBeLessThan(10);
  });

  it('refuses a certificate for another host name', async () => {
    const pool = open({
      port: server().tlsPort,
      tls: { ca: certs().ca, servername: 'not-this-host.example' },
    });
    const error = await pool.executeCommand('PING').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectionError);
    expect(String((error as Error).message)).toMatch(/not-this-host|altname|Hostname/i);
  });

  it('a plain client on the TLS port fails typed within connectTimeoutMs', async () => {
    const pool = open({ port: server().tlsPort, connectTimeoutMs: 500 });
    const started = Date.now();
    const error = await pool.executeCommand('PING').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RedisError);
    expect(Date.now() - started).toBeLessThan(1200);
  });

  it('a TLS client on the plain port fails typed within connectTimeoutMs', async () => {
    const pool = open({ port: server().port, tls: { ca: certs().ca }, connectTimeoutMs: 500 });
    const started = Date.now();
    const error = await pool.executeCommand('PING').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RedisError);
    expect(Date.now() - started).toBeLessThan(1200);
  });
});
