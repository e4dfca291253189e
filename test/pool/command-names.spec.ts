import { CommandNotAllowedError } from '../../lib/errors/redis-pool.errors';
import { ConnectionPool } from '../../lib/pool/connection-pool';
import { RedisService } from '../../lib/client/redis.service';
import { useRedisServer } from '../harness';
import {
  expectNothingOpen,
  expectOwnReply,
  uniqueName,
  watchUnhandledRejections,
} from './pool-checks';

/** Scenario 30: a command name is normalised once, and what is refused or tracked is exactly what is sent. */
describe('command names', () => {
  watchUnhandledRejections();
  const server = useRedisServer();
  let pool: ConnectionPool;
  let name: string;

  beforeEach(async () => {
    name = uniqueName('names');
    pool = new ConnectionPool({ url: server().url, clientName: name, maxConnections: 1 });
    await server().cli('MSET', 'names:a', 'A', 'names:b', 'B');
  });

  afterEach(async () => {
    await expectNothingOpen(pool, server(), name);
  });

  it.each(['', ' ', '   ', '\t'])(
    'refuses the empty name %j with TypeError, and the next replies do not shift',
    async (command) => {
      const [empty, a, b] = await Promise.allSettled([
        pool.executeCommand(command),
        pool.executeCommand('GET', 'names:a'),
        pool.executeCommand('GET', 'names:b'),
      ]);
      expect(empty.status === 'rejected' && empty.reason).toBeInstanceOf(TypeError);
      expect(a).toEqual({ status: 'fulfilled', value: 'A' });
      expect(b).toEqual({ status: 'fulfilled', value: 'B' });
    },
  );

  it.each([
    [' SELECT', ['5']],
    ['select ', ['5']],
    [' MULTI', []],
    ['  subscribe', ['names:ch']],
    ['CLIENT   TRACKING', ['ON']],
    ['client no-touch', ['ON']],
  ])('refuses %j on the shared path, whatever its spacing or case', async (command, args) => {
    await expect(pool.executeCommand(command, ...args)).rejects.toThrow(CommandNotAllowedError);
    await expectOwnReply(pool);
    const info = await pool.executeCommand<string>('CLIENT', 'INFO');
    expect(info).toMatch(/ flags=N /);
    expect(info).toMatch(/ db=0 /);
  });

  it('refuses a spaced CLIENT REPLY everywhere, so [CLIENT REPLY SKIP, GET a, GET b] cannot shift replies', async () => {
    const shared = await Promise.allSettled([
      pool.executeCommand('CLIENT REPLY', 'SKIP'),
      pool.executeCommand('GET', 'names:a'),
      pool.executeCommand('GET', 'names:b'),
    ]);
    expect(shared[0].status === 'rejected' && shared[0].reason).toBeInstanceOf(
      CommandNotAllowedError,
    );
    expect(shared.slice(1)).toEqual([
      { status: 'fulfilled', value: 'A' },
      { status: 'fulfilled', value: 'B' },
    ]);
    const leased = await pool.withConnection((c) =>
      Promise.allSettled([
        c.executeCommand(' client  reply ', 'OFF'),
        c.executeCommand('GET', 'names:a'),
        c.executeCommand('GET', 'names:b'),
      ]),
    );
    expect(leased[0].status === 'rejected' && leased[0].reason).toBeInstanceOf(
      CommandNotAllowedError,
    );
    expect(leased.slice(1)).toEqual([
      { status: 'fulfilled', value: 'A' },
      { status: 'fulfilled', value: 'B' },
    ]);
  });

  it.each(['SYNC', 'PSYNC', 'REPLCONF', 'MONITOR', ' monitor'])(
    'refuses %j even on a lease',
    async (command) => {
      await pool.withConnection(async (c) => {
        await expect(
          c.executeCommand(command, ...(command === 'PSYNC' ? ['?', '-1'] : [])),
        ).rejects.toThrow(CommandNotAllowedError);
        expect(await c.executeCommand('GET', 'names:a')).toBe('A');
      });
    },
  );

  it('tracks a lease spaced " SELECT 5": the next borrower of that connection is back on db 0', async () => {
    await server().cli('SET', 'names:db0', 'zero');
    const first = await pool.withConnection(async (c) => {
      expect(await c.executeCommand(' SELECT', '5')).toBe('OK');
      expect(await c.executeCommand('GET', 'names:db0')).toBeNull();
      return c.id;
    });
    const [second, value] = await pool.withConnection(
      async (c) => [c.id, await c.executeCommand('GET', 'names:db0')] as const,
    );
    // maxConnections 1 and one lease at a time: the same socket came back, restored.
    expect(second).toBe(first);
    expect(value).toBe('zero');
  });

  it('tracks a lease " subscribe": that connection is discarded, never shared while subscribed', async () => {
    const leasedId = await pool.withConnection(async (c) => {
      await c.executeCommand(' subscribe', 'names:ch');
      return c.id;
    });
    const redis = new RedisService(pool);
    await expect(redis.get('names:a')).resolves.toBe('A');
    const clients = await server().cli('CLIENT', 'LIST');
    const subscribedOfOurs = clients
      .split('\n')
      .filter((line) => line.includes(`name=${name}`) && / sub=[1-9]/.test(line));
    expect(subscribedOfOurs).toEqual([]);
    expect(pool.stats().leased).toBe(0);
    expect(leasedId).toBeGreaterThan(0);
  });

  it('sends a spaced name as its words: "CLIENT   SETNAME" on a lease sets the name and is tracked', async () => {
    await pool.withConnection(async (c) => {
      expect(await c.executeCommand('CLIENT   SETNAME', 'renamed-lease')).toBe('OK');
      expect(c.lease.mustDiscard).toBe(true);
      expect(await c.executeCommand('client getname')).toBe('renamed-lease');
    });
  });
});
