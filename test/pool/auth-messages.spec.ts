import { inspect } from 'node:util';
import {
  AuthenticationError,
  ResponseError,
  TimeoutError,
} from '../../lib/errors/redis-pool.errors';
import { ConnectionPool } from '../../lib/pool/connection-pool';
import type { PoolOptions } from '../../lib/pool/pool-options';
import { useRedisServer } from '../harness';
import { sleep, watchUnhandledRejections } from './pool-checks';

const PASSWORD = 'Qz7-requirepass-Wx4';
const BOB_PASSWORD = 'Bb5-bob-pw-Nm2';

/** Every view of an error in which a secret or a `command: undefined` could show. */
function views(error: unknown): string {
  return [
    String(error),
    inspect(error, { depth: 5, showHidden: true }),
    JSON.stringify(error) ?? '',
  ].join('\n');
}

describe('errors that say what to do when the server refuses the connection', () => {
  const server = useRedisServer({
    password: PASSWORD,
    // bob may do everything but name his connection: a clientName makes the handshake fail.
    users: [`bob on >${BOB_PASSWORD} ~* &* +@all -client|setname`],
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
  const address = () => `127.0.0.1:${server().port}`;
  const escaped = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

  it.each([
    [2, 'AUTH'],
    [3, 'HELLO'],
  ] as const)(
    'a wrong password (protocol %i) says "credentials rejected (check the password); not retrying"',
    async (protocol, step) => {
      const pool = open({ password: 'Wrong-pw-Kj3', protocol });
      const error = (await pool.executeCommand('PING').catch((e: unknown) => e)) as ResponseError;
      expect(error).toBeInstanceOf(AuthenticationError);
      expect(error.code).toBe('WRONGPASS');
      expect(error.command).toBe(step);
      expect(error.message).toBe(
        'WRONGPASS invalid username-password pair or user is disabled. ' +
          `(${step} while connecting to ${address()}): credentials rejected (check the password); not retrying`,
      );
      expect(error.message).not.toMatch(/cannot reach/i);
      expect(views(error)).not.toMatch(/Wrong-pw|Kj3|Qz7|command: undefined/);
    },
  );

  it('an unknown user or a wrong ACL password says to check both', async () => {
    const pool = open({ username: 'bob', password: 'not-bobs' });
    const error = (await pool.executeCommand('PING').catch((e: unknown) => e)) as Error;
    expect(error).toBeInstanceOf(AuthenticationError);
    expect(error.message).toMatch(
      /: credentials rejected \(check the username and password\); not retrying$/,
    );
    expect(views(error)).not.toContain('not-bobs');
  });

  it.each([
    [2, 'PING'],
    [3, 'HELLO'],
  ] as const)(
    'a missing password (protocol %i) says the server needs one',
    async (protocol, step) => {
      const pool = open({ protocol });
      const error = (await pool.executeCommand('PING').catch((e: unknown) => e)) as ResponseError;
      expect(error).toBeInstanceOf(AuthenticationError);
      expect(error.code).toBe('NOAUTH');
      expect(error.command).toBe(step);
      expect(error.message).toMatch(
        new RegExp(
          `^NOAUTH .*\\(${step} while connecting to ${escaped(address())}\\): credentials rejected ` +
            '\\(the server needs a password: set the password option or put it in the URL\\); not retrying$',
        ),
      );
    },
  );

  it('an ACL user that may not run a handshake step gets NOPERM naming it', async () => {
    const pool = open({ username: 'bob', password: BOB_PASSWORD, clientName: 'named' });
    const error = (await pool.executeCommand('PING').catch((e: unknown) => e)) as ResponseError;
    expect(error).toBeInstanceOf(ResponseError);
    expect(error).not.toBeInstanceOf(AuthenticationError);
    expect(error.code).toBe('NOPERM');
    expect(error.command).toBe('CLIENT');
    expect(error.message).toMatch(
      new RegExp(
        `^NOPERM .*\\(CLIENT while connecting to ${escaped(address())}\\): the server's ACL does not let ` +
          'this user run CLIENT \\(grant it with ACL SETUSER, or drop the option that sends it\\); not retrying$',
      ),
    );
    expect(views(error)).not.toContain(BOB_PASSWORD);
    // Without the clientName, bob connects.
    await expect(
      open({ username: 'bob', password: BOB_PASSWORD }).executeCommand('PING'),
    ).resolves.toBe('PONG');
  });

  it('does not retry refused credentials on its own, not even to keep minIdle connections', async () => {
    const pool = open({
      password: 'Wrong-pw-Kj3',
      minIdle: 2,
      retry: { baseDelayMs: 10, maxDelayMs: 50 },
    });
    let attempts = 0;
    pool.on('error', () => attempts++);
    const first = await pool.executeCommand('PING').catch((e: unknown) => e);
    expect(first).toBeInstanceOf(AuthenticationError);
    await sleep(300);
    const settled = attempts;
    // With a 10-50 ms backoff, a pool that retried would have tried about 20 times by now.
    await sleep(1200);
    expect(attempts - settled).toBe(0);
    expect(settled).toBeLessThanOrEqual(3);
    // A new command tries once more, and fails the same way.
    await expect(pool.executeCommand('PING')).rejects.toBeInstanceOf(AuthenticationError);
  });

  it('errors of ordinary commands name their command and carry no command: undefined', async () => {
    const pool = open({ password: PASSWORD, commandTimeoutMs: 200 });
    const wrongType = (await pool
      .executeCommand('LPUSH', 'only-one-arg')
      .catch((e: unknown) => e)) as ResponseError;
    expect(wrongType).toBeInstanceOf(ResponseError);
    expect(wrongType.command).toBe('LPUSH');
    const slow = await pool.executeCommand('BLPOP', 'q', 1).catch((e: unknown) => e);
    const timeout = await pool
      .execute('DEBUG', ['SLEEP', '0.5'], { timeoutMs: 100 })
      .catch((e: unknown) => e);
    for (const error of [wrongType, slow, timeout]) {
      expect(views(error)).not.toContain('command: undefined');
      expect(views(error)).not.toContain('"command":null');
    }
    expect(timeout).toBeInstanceOf(TimeoutError);
  });
});

describe('an AUTH to a server without a password', () => {
  const server = useRedisServer();

  it('says to remove the password option', async () => {
    const pool = new ConnectionPool({ url: `redis://:Stray-pw-Lp8@127.0.0.1:${server().port}` });
    try {
      const error = (await pool.executeCommand('PING').catch((e: unknown) => e)) as Error;
      expect(error).toBeInstanceOf(AuthenticationError);
      expect(error.message).toMatch(
        /: credentials rejected \(the server has no password set: remove the password option\); not retrying$/,
      );
      expect(views(error)).not.toContain('Stray-pw');
    } finally {
      await pool.disconnect();
    }
  });
});
