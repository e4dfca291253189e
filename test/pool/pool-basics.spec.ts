import { inspect } from 'node:util';
import { Connection } from '../../lib/connection/connection';
import {
  CommandNotAllowedError,
  PoolClosedError,
  PoolExhaustedError,
  ResponseError,
} from '../../lib/errors/redis-pool.errors';
import { ConnectionPool } from '../../lib/pool/connection-pool';
import type { PoolStats } from '../../lib/pool/redis-pool.interface';
import type { PoolOptions } from '../../lib/pool/pool-options';
import type { RedisArgument } from '../../lib/protocol/resp.types';
import { startTcpProxy, useRedisServer } from '../harness';
import {
  expectNothingOpen,
  expectOwnReply,
  serverConnections,
  settleAll,
  sleep,
  uniqueName,
  watchUnhandledRejections,
} from './pool-checks';

describe('ConnectionPool', () => {
  const server = useRedisServer();
  watchUnhandledRejections();
  let pool: ConnectionPool;
  let name: string;

  const open = (options: PoolOptions = {}) => {
    name = uniqueName('basics');
    pool = new ConnectionPool({
      host: server().host,
      port: server().port,
      clientName: name,
      ...options,
    });
    return pool;
  };

  afterEach(async () => {
    await expectNothingOpen(pool, server(), name);
  });

  describe('multiplexed executeCommand', () => {
    it('runs commands and maps replies', async () => {
      open();
      await expect(pool.executeCommand('SET', 'basics:k', 'v')).resolves.toBe('OK');
      await expect(pool.executeCommand('GET', 'basics:k')).resolves.toBe('v');
      await expect(pool.executeCommand('GET', 'basics:missing')).resolves.toBeNull();
      await expect(pool.executeCommand('INCRBY', 'basics:n', 2 ** 40)).resolves.toBe(2 ** 40);
      await expect(pool.executeCommand('CLIENT GETNAME')).resolves.toBe(name);
    });

    it('pipelines many callers on one connection: 10 000 concurrent commands, each its own reply', async () => {
      open();
      const replies = await Promise.all(
        Array.from({ length: 10_000 }, (_, i) => pool.executeCommand('ECHO', `value-${i}`)),
      );
      replies.forEach((reply, i) => expect(reply).toBe(`value-${i}`));
      expect(await serverConnections(server(), name)).toBeLessThanOrEqual(2);
    });

    it('grows to maxConnections under deep pipelines and never opens more, as CLIENT LIST and connect events show', async () => {
      open({ maxConnections: 3 });
      const connects: number[] = [];
      const closes: number[] = [];
      pool.on('connect', (id: number) => connects.push(id));
      pool.on('close', (id: number) => closes.push(id));
      // 8 callers, each with 500 commands in flight at a time: every connection stays far deeper than the 128
      // replies at which the pool opens another, so it grows as far as it may.
      const counter = `basics:grown:${name}`;
      let stop = false;
      let issued = 0;
      const callers = Array.from({ length: 8 }, async () => {
        while (!stop) {
          issued += 500;
          await Promise.all(
            Array.from({ length: 500 }, () => pool.executeCommand('INCR', counter)),
          );
        }
      });
      let mostListed = 0;
      const list = async () => {
        const listed = await serverConnections(server(), name);
        mostListed = Math.max(mostListed, listed);
        return listed;
      };
      const grownBy = Date.now() + 10_000;
      while (connects.length < 3 && Date.now() < grownBy) await list();
      // Keep the load up a while longer: a pool that overshoots gets every chance to.
      const keepUntil = Date.now() + 500;
      while (Date.now() < keepUntil) await list();
      stop = true;
      await Promise.all(callers);
      expect(connects).toHaveLength(3);
      expect(closes).toEqual([]);
      expect(mostListed).toBeLessThanOrEqual(3);
      expect(await list()).toBe(3);
      expect(pool.stats()).toMatchObject({ total: 3, connecting: 0 });
      await expect(pool.executeCommand('GET', counter)).resolves.toBe(String(issued));
    });

    it('runs commands issued in the same turn in order, even with several connections open', async () => {
      open({ maxConnections: 4 });
      // Deep enough to make the pool open more connections.
      await Promise.all(
        Array.from({ length: 2000 }, (_, i) => pool.executeCommand('ECHO', String(i))),
      );
      for (let i = 0; i < 50 && pool.stats().total < 2; i++) await sleep(10);
      expect(pool.stats().total).toBeGreaterThan(1);
      let stale = 0;
      for (let i = 0; i < 2000; i++) {
        const [, value] = await Promise.all([
          pool.executeCommand('SET', 'basics:order', String(i)),
          pool.executeCommand('GET', 'basics:order'),
          // Other callers' work in the same turn keeps the connections busy.
          ...Array.from({ length: 20 }, () => pool.executeCommand('PING')),
        ]);
        if (value !== String(i)) stale++;
      }
      expect(stale).toBe(0);
    });

    it('spreads large values over connections, while small commands from as many callers share one', async () => {
      open({ maxConnections: 10 });
      const run = async (value: Buffer, rounds: number) => {
        const mismatches: number[] = [];
        await Promise.all(
          Array.from({ length: 4 }, async (_, caller) => {
            for (let round = 0; round < rounds; round++) {
              // Each caller's own bytes, different every round.
              const mine = Buffer.from(value);
              mine.writeUInt32BE(caller * 1000 + round);
              await pool.executeCommand('SET', `basics:large:${caller}`, mine);
              const back = await pool.execute<Buffer>('GET', [`basics:large:${caller}`], {
                buffers: true,
              });
              if (!back.equals(mine)) mismatches.push(caller);
            }
          }),
        );
        return mismatches;
      };
      await expect(run(Buffer.alloc(100, 0x61), 200)).resolves.toEqual([]);
      expect(await serverConnections(server(), name)).toBe(1);
      await expect(run(Buffer.alloc(1024 * 1024, 0x62), 10)).resolves.toEqual([]);
      // A 1 MB SET in flight makes its connection count as deep: the next caller's goes to (or opens) another.
      const opened = await serverConnections(server(), name);
      expect(opened).toBeGreaterThan(1);
      expect(opened).toBeLessThanOrEqual(5);
    });

    it('keeps commands issued in one turn in order when one of them carries a large value', async () => {
      // Several connections open from the start (how many grow meanwhile depends on when replies arrive), and
      // other callers keep large values in flight on them.
      open({ maxConnections: 4, minIdle: 4 });
      while (pool.stats().idle < 4) await new Promise((resolve) => setImmediate(resolve));
      const big = (i: number) => Buffer.alloc(256 * 1024, i % 251);
      let stop = false;
      const noise = Array.from({ length: 3 }, async (_, n) => {
        while (!stop) await pool.executeCommand('SET', `basics:noise:${n}`, big(n));
      });
      let stale = 0;
      for (let i = 0; i < 100; i++) {
        const [, value] = await Promise.all([
          pool.executeCommand('SET', 'basics:ordered', big(i)),
          pool.execute<Buffer>('GET', ['basics:ordered'], { buffers: true }),
        ]);
        if (!value.equals(big(i))) stale++;
      }
      stop = true;
      await Promise.all(noise);
      expect(stale).toBe(0);
      expect(pool.stats().total).toBeGreaterThan(1);
    });

    it('rejects bad arguments with a TypeError before anything is queued (RELIABILITY 26)', async () => {
      open();
      for (const bad of [undefined, null, { a: 1 }, NaN]) {
        await expect(
          pool.executeCommand('SET', 'basics:bad', bad as unknown as RedisArgument),
        ).rejects.toThrow(TypeError);
      }
      expect(pool.stats()).toMatchObject({ total: 0, pending: 0, connecting: 0 });
      await expectOwnReply(pool);
    });

    it.each([
      ['BLPOP', ['q', 0], /withConnection/],
      ['BRPOP', ['q', 1], /withConnection/],
      ['XREAD', ['BLOCK', 0, 'STREAMS', 's', '$'], /withConnection/],
      ['WATCH', ['k'], /watch\(\)/],
      ['MULTI', [], /multi\(\)/],
      ['SUBSCRIBE', ['ch'], /subscribe\(\)/],
      ['SELECT', [1], /pool options/],
      ['CLIENT', ['TRACKING', 'on'], /withConnection/],
      ['MONITOR', [], /not supported/],
    ] as Array<[string, RedisArgument[], RegExp]>)(
      'refuses %s on the shared path with a message naming the API to use',
      async (command, args, hint) => {
        open();
        const refused = pool.executeCommand(command, ...args);
        await expect(refused).rejects.toThrow(CommandNotAllowedError);
        await expect(refused).rejects.toThrow(hint);
        await expectOwnReply(pool);
      },
    );

    it('XREAD without BLOCK runs on the shared path', async () => {
      open();
      await pool.executeCommand('XADD', 'basics:stream', '*', 'f', 'v');
      const reply = (await pool.executeCommand(
        'XREAD',
        'COUNT',
        1,
        'STREAMS',
        'basics:stream',
        '0',
      )) as unknown[];
      expect(reply).toHaveLength(1);
    });

    it('rejects an error reply with ResponseError carrying the code and command name', async () => {
      open();
      await pool.executeCommand('SET', 'basics:str', 'x');
      const failed = pool.executeCommand('LPUSH', 'basics:str', 'y');
      await expect(failed).rejects.toThrow(ResponseError);
      await expect(failed).rejects.toMatchObject({ code: 'WRONGTYPE', command: 'LPUSH' });
      await expectOwnReply(pool);
    });
  });

  describe('exclusive leases', () => {
    it('gives a connection for blocking work while the shared path keeps serving', async () => {
      open({ maxConnections: 2 });
      const blocked = pool.withConnection((c) => c.executeCommand('BLPOP', 'basics:queue', 0));
      await sleep(50);
      const started = Date.now();
      for (let i = 0; i < 50; i++) await expectOwnReply(pool);
      expect(Date.now() - started).toBeLessThan(2000);
      await pool.executeCommand('RPUSH', 'basics:queue', 'job');
      await expect(blocked).resolves.toEqual(['basics:queue', 'job']);
    });

    it('waits when every connection is leased, then PoolExhaustedError at acquireTimeoutMs (RELIABILITY 13)', async () => {
      open({ maxConnections: 2, acquireTimeoutMs: 200 });
      const a = await pool.getConnection();
      const b = await pool.getConnection();
      const started = Date.now();
      await expect(pool.getConnection()).rejects.toThrow(PoolExhaustedError);
      expect(Date.now() - started).toBeGreaterThanOrEqual(190);
      expect(Date.now() - started).toBeLessThan(1000);
      expect(pool.stats()).toMatchObject({ leased: 2, waiting: 0 });
      pool.release(a);
      pool.release(b);
    });

    it('hands a released connection to the oldest waiter first', async () => {
      open({ maxConnections: 1, acquireTimeoutMs: 2000 });
      const held = await pool.getConnection();
      const order: number[] = [];
      const waiters = [1, 2, 3].map((n) =>
        pool.getConnection().then((c) => {
          order.push(n);
          pool.release(c);
          return c;
        }),
      );
      await sleep(20);
      expect(pool.stats().waiting).toBe(3);
      pool.release(held);
      const got = await Promise.all(waiters);
      expect(order).toEqual([1, 2, 3]);
      expect(got.every((c) => c === held)).toBe(true);
    });

    it('serves a waiter at the limit by draining a shared connection, never sharing its outstanding replies', async () => {
      open({ maxConnections: 1, acquireTimeoutMs: 2000 });
      const shared = Array.from({ length: 2000 }, (_, i) => pool.executeCommand('ECHO', `s${i}`));
      const lease = await pool.getConnection();
      expect(lease.pending).toBe(0);
      await expect(lease.executeCommand('ECHO', 'mine')).resolves.toBe('mine');
      const more = pool.executeCommand('ECHO', 'after');
      pool.release(lease);
      const replies = await Promise.all(shared);
      replies.forEach((r, i) => expect(r).toBe(`s${i}`));
      await expect(more).resolves.toBe('after');
    });

    it.each([
      ['SELECT 5', (c: Connection) => c.executeCommand('SELECT', 5)],
      ['WATCH', (c: Connection) => c.executeCommand('WATCH', 'basics:w')],
      [
        'MULTI left open',
        (c: Connection) =>
          c.executeCommand('MULTI').then(() => c.executeCommand('SET', 'basics:m', 'x')),
      ],
      ['SUBSCRIBE', (c: Connection) => c.executeCommand('SUBSCRIBE', 'basics:ch')],
      ['CLIENT TRACKING', (c: Connection) => c.executeCommand('CLIENT', 'TRACKING', 'on')],
    ])(
      'returns a lease dirtied by %s clean: the next borrower sees db 0 and no state (RELIABILITY 15)',
      async (_name, dirty) => {
        open({ maxConnections: 1 });
        await pool.withConnection(async (c) => {
          await dirty(c);
        });
        await sleep(20);
        await pool.withConnection(async (c) => {
          const info = (await c.executeCommand('CLIENT', 'INFO')) as string;
          expect(info).toMatch(/ db=0 /);
          expect(info).toMatch(/ sub=0 psub=0 /);
          expect(info).toMatch(/ multi=-1 /);
          expect(info).toMatch(/ flags=N /);
          // A MULTI left open would queue this instead of running it.
          await expect(c.executeCommand('PING')).resolves.toBe('PONG');
        });
        await expectOwnReply(pool);
        expect(await pool.executeCommand('EXISTS', 'basics:m')).toBe(0);
      },
    );

    it('discards a lease released with replies outstanding, so none reaches the next borrower', async () => {
      open({ maxConnections: 1 });
      const c = await pool.getConnection();
      const unsent = c.executeCommand('ECHO', 'never written');
      pool.release(c);
      // Released in the same tick: the command never left, and says so.
      await expect(unsent).rejects.toMatchObject({
        name: 'ConnectionError',
        commandMayHaveRun: false,
      });
      const d = await pool.getConnection();
      expect(d).not.toBe(c);
      // Long enough that its reply cannot arrive before the release, however loaded the machine.
      const orphan = d.executeCommand('DEBUG', 'SLEEP', '0.5');
      await sleep(10);
      pool.release(d);
      await expect(orphan).rejects.toMatchObject({
        name: 'ConnectionError',
        commandMayHaveRun: true,
      });
      await pool.withConnection(async (next) => {
        expect(next).not.toBe(d);
        await expect(next.executeCommand('ECHO', 'fresh')).resolves.toBe('fresh');
      });
    });

    it('ignores a double release', async () => {
      open({ maxConnections: 2 });
      const c = await pool.getConnection();
      pool.release(c);
      pool.release(c);
      const [x, y] = await Promise.all([pool.getConnection(), pool.getConnection()]);
      expect(x).not.toBe(y);
      pool.release(x);
      pool.release(y);
    });

    it('PINGs a lease idle longer than healthCheckIntervalMs, and replaces one that died silently', async () => {
      const proxy = await startTcpProxy({ host: server().host, port: server().port });
      try {
        open({
          host: proxy.host,
          port: proxy.port,
          maxConnections: 1,
          healthCheckIntervalMs: 300,
          connectTimeoutMs: 500,
          commandTimeoutMs: 2000,
        });
        const closed: number[] = [];
        pool.on('close', (id: number) => closed.push(id));
        /** PINGs the server ran; the handshake sends none, as the pool names its connections. */
        const pings = async () => {
          const stats = await server().cli('INFO', 'commandstats');
          return Number(/cmdstat_ping:calls=(\d+)/.exec(stats)?.[1] ?? 0);
        };
        const serverId = (c: Connection) => c.executeCommand<number>('CLIENT', 'ID');
        const first = await pool.getConnection();
        const firstId = await serverId(first);
        pool.release(first);
        const before = await pings();
        // Leased again within the interval: no PING.
        await expect(pool.withConnection(serverId)).resolves.toBe(firstId);
        expect(await pings()).toBe(before);
        // Idle longer than the interval: exactly one PING, and the same connection comes back.
        await sleep(450);
        await expect(pool.withConnection(serverId)).resolves.toBe(firstId);
        expect(await pings()).toBe(before + 1);

        // Dead without a reset: the socket stays open, nothing comes back. Only the PING can tell.
        proxy.blackholeOpenConnections();
        await sleep(450);
        const started = Date.now();
        const replacementId = await pool.withConnection(async (c) => {
          await expect(c.executeCommand('PING')).resolves.toBe('PONG');
          return serverId(c);
        });
        // The health PING waited connectTimeoutMs (500 ms) at most; a dead lease would time out at 2000 ms.
        expect(Date.now() - started).toBeLessThan(1900);
        expect(replacementId).not.toBe(firstId);
        expect(closed).toEqual([first.id]);
        expect(pool.stats()).toMatchObject({ total: 1, leased: 0 });
      } finally {
        await pool.disconnect();
        await proxy.close();
      }
    });
  });

  describe("dispatch: 'exclusive'", () => {
    it('runs every command on a leased connection, like redis-py, blocking ones included', async () => {
      open({ dispatch: 'exclusive', maxConnections: 2 });
      await expect(pool.executeCommand('SET', 'basics:x', '1')).resolves.toBe('OK');
      const blocked = pool.executeCommand('BLPOP', 'basics:xq', 0);
      await sleep(30);
      await pool.executeCommand('RPUSH', 'basics:xq', 'a');
      await expect(blocked).resolves.toEqual(['basics:xq', 'a']);
      const stats: PoolStats = pool.stats();
      expect(stats.leased).toBe(0);
    });
  });

  describe('disconnect', () => {
    it('lets in-flight work finish, refuses new work with PoolClosedError, and closes every socket (RELIABILITY 16)', async () => {
      open({ maxConnections: 3 });
      await expectOwnReply(pool);
      const lease = await pool.getConnection();
      const inFlight = [
        pool
          .executeCommand('DEBUG', 'SLEEP', '0.2')
          .then(() => pool.executeCommand('PING').catch((e) => e)),
        ...Array.from({ length: 100 }, (_, i) => pool.executeCommand('ECHO', `f${i}`)),
      ];
      const leasedWork = lease.executeCommand('ECHO', 'leased');
      const closing = pool.disconnect();
      await expect(pool.executeCommand('PING')).rejects.toThrow(PoolClosedError);
      await expect(pool.getConnection()).rejects.toThrow(PoolClosedError);
      await expect(leasedWork).resolves.toBe('leased');
      pool.release(lease);
      const results = await settleAll(inFlight, 3000);
      expect(results[0]).toMatchObject({ status: 'fulfilled' });
      expect((results[0] as PromiseFulfilledResult<unknown>).value).toBeInstanceOf(PoolClosedError);
      results
        .slice(1)
        .forEach((r, i) => expect(r).toEqual({ status: 'fulfilled', value: `f${i}` }));
      await closing;
      expect(await serverConnections(server(), name)).toBe(0);
      await expect(pool.disconnect()).resolves.toBeUndefined();
    });

    it('closes connections that do not drain by the deadline', async () => {
      open({ maxConnections: 2 });
      const lease = await pool.getConnection();
      const stuck = lease.executeCommand('BLPOP', 'basics:never', 0);
      const started = Date.now();
      await pool.disconnect({ drainTimeoutMs: 100 });
      expect(Date.now() - started).toBeLessThan(1500);
      await expect(stuck).rejects.toMatchObject({
        name: 'ConnectionError',
        commandMayHaveRun: true,
      });
    });

    it('rejects lease waiters with PoolClosedError', async () => {
      open({ maxConnections: 1, acquireTimeoutMs: 5000 });
      const held = await pool.getConnection();
      const waiting = pool.getConnection();
      const closing = pool.disconnect({ drainTimeoutMs: 50 });
      await expect(waiting).rejects.toThrow(PoolClosedError);
      pool.release(held);
      await closing;
    });
  });

  describe('observability', () => {
    it('reports stats and masks the password in inspect and JSON', async () => {
      open({ password: undefined, maxConnections: 4 });
      await expectOwnReply(pool);
      expect(pool.stats()).toEqual({
        total: 1,
        idle: 1,
        leased: 0,
        connecting: 0,
        pending: 0,
        queued: 0,
        waiting: 0,
        maxConnections: 4,
        maxLeases: 4,
        deepestPipeline: 0,
        timeouts: 0,
        commandTimeouts: 0,
        reconnects: 0,
        retries: 0,
        resendsRefused: 0,
        leaseWaitP50Ms: 0,
        leaseWaitP99Ms: 0,
        leaseWaitMaxMs: 0,
      });
      const secretPool = new ConnectionPool({ port: 1, host: '127.0.0.1', password: 'hunter2' });
      expect(inspect(secretPool)).not.toContain('hunter2');
      expect(JSON.stringify(secretPool)).not.toContain('hunter2');
      await secretPool.disconnect();
    });

    it('emits connect and close events, and survives with no listener at all', async () => {
      open();
      const events: string[] = [];
      pool.on('connect', (id: number) => events.push(`connect ${typeof id}`));
      await expectOwnReply(pool);
      expect(events).toEqual(['connect number']);
      const unheard = new ConnectionPool({ host: '127.0.0.1', port: 1, connectTimeoutMs: 200 });
      await expect(unheard.executeCommand('PING')).rejects.toThrow();
      await unheard.disconnect();
    });
  });
});
