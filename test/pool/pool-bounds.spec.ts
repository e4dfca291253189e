import * as net from 'node:net';
import { RedisService } from '../../lib/client';
import type { Connection } from '../../lib/connection/connection';
import {
  PoolExhaustedError,
  ResponseError,
  TimeoutError,
} from '../../lib/errors/redis-pool.errors';
import { ConnectionPool } from '../../lib/pool/connection-pool';
import { startRedisServer, type RedisServerHandle } from '../harness';
import {
  connectedClients,
  handled,
  nextTurn,
  rawClient,
  rawCommand,
  track,
  waitFor,
} from './bounds-checks';
import {
  expectNothingOpen,
  expectOwnReply,
  settleAll,
  sleep,
  uniqueName,
  watchUnhandledRejections,
} from './pool-checks';

describe('bounds of the pool against a real server', () => {
  watchUnhandledRejections();
  let server: RedisServerHandle;
  let pool: ConnectionPool;
  let name: string;
  let squatters: net.Socket[] = [];

  beforeEach(async () => {
    server = await startRedisServer();
  });

  afterEach(async () => {
    for (const socket of squatters) socket.destroy();
    squatters = [];
    if (server.frozen) server.resume();
    await expectNothingOpen(pool, server, name);
    await server.dispose();
  });

  it('35: maxclients hit while growing: keeps serving on what it has, fails no queued command and no other lease waiter, grows once the server has room', async () => {
    name = uniqueName('maxclients');
    pool = new ConnectionPool({
      host: server.host,
      port: server.port,
      clientName: name,
      maxConnections: 4,
      maxLeases: 2,
      // Low, so the load below queues commands in the backlog while the pool tries (and fails) to grow.
      maxPendingPerConnection: 8,
      acquireTimeoutMs: 5000,
      connectTimeoutMs: 1000,
      retry: { baseDelayMs: 20, maxDelayMs: 200 },
    });
    const redis = new RedisService(pool);
    const downs: unknown[] = [];
    pool.on('down', (error) => downs.push(error));
    const connectFailures: Error[] = [];
    pool.on('error', (error) => connectFailures.push(error as Error));

    // One lease and one shared connection, then the server is filled up to maxclients.
    const held = await pool.getConnection();
    await expectOwnReply(pool);
    expect(pool.stats()).toMatchObject({ total: 2, leased: 1 });
    const SQUATTERS = 2;
    await server.cli('CONFIG', 'SET', 'maxclients', String(2 + SQUATTERS));
    await waitFor('redis-cli gone', async () => (await connectedClients(held)) === 2);
    for (let i = 0; i < SQUATTERS; i++) squatters.push((await rawClient(server, 0)).socket);
    await waitFor('server full', async () => (await connectedClients(held)) === 2 + SQUATTERS);
    const probe = await rawClient(server, 200);
    probe.socket.destroy();
    expect(probe.said).toMatch(/max number of clients reached/);

    // A shared command, then two lease requests in the same turn: the shared connection is busy, so the first
    // request opens a connection of its own (and gets maxclients); the second, with no lease room left, waits.
    const firstShared = redis.set(`${name}:first`, 'one');
    const refused = pool.getConnection();
    const patient = track(pool.getConnection());
    expect(pool.stats()).toMatchObject({ waiting: 2, connecting: 1 });
    const refusal = await refused.catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(ResponseError);
    expect((refusal as Error).message).toMatch(/max number of clients reached/);
    await expect(firstShared).resolves.toBe('OK');

    // Load that needs growth while the server is full. CLIENT PAUSE holds the shared connection's replies (the
    // server still accepts, and refuses, connections meanwhile), so commands past its high-water mark queue in
    // the backlog and the pool tries to grow for them: each attempt fails with maxclients while they wait.
    await sleep(300); // the backoff after the refused lease has passed
    const queuedAtFailure: number[] = [];
    pool.on('error', () => queuedAtFailure.push(pool.stats().queued));
    const failuresBefore = connectFailures.length;
    // Sent by a squatter: on the lease, CLIENT PAUSE would (rightly) get that connection discarded at release.
    expect(await rawCommand(squatters[0], 'CLIENT', 'PAUSE', '600', 'ALL')).toBe('+OK\r\n');
    const commands: Array<Promise<unknown>> = [];
    const expected: unknown[] = [];
    const issue = (tag: string) => {
      for (let i = 0; i < 20; i++) {
        const key = `${name}:${tag}${i}`;
        commands.push(redis.set(key, `${tag}${i}`), redis.get(key));
        expected.push('OK', `${tag}${i}`);
      }
    };
    issue('a'); // one turn: all on the shared connection, past its high-water mark of 8
    await nextTurn();
    issue('b'); // no connection may take these: queued, and a connection is opened for them
    expect(pool.stats()).toMatchObject({ queued: 40, connecting: 1 });
    await waitFor('a growth attempt failed', () => connectFailures.length > failuresBefore);
    expect(queuedAtFailure[0]).toBe(40);
    for (const error of connectFailures) expect(error.message).toMatch(/max number of clients/);
    // Queued commands are not failed: once the pause ends, they run on the one shared connection.
    const answered = await settleAll(commands, 10_000);
    const failed = answered.filter((r) => r.status === 'rejected') as PromiseRejectedResult[];
    expect(failed.map((r) => String(r.reason))).toEqual([]);
    expect(answered.map((r) => (r as PromiseFulfilledResult<unknown>).value)).toEqual(expected);
    await expectOwnReply(pool);
    // Backoff between attempts (20-200 ms here), no hot loop.
    expect(connectFailures.length).toBeLessThan(40);
    expect(downs).toEqual([]);
    expect(pool.stats()).toMatchObject({ total: 2, leased: 1 });

    // The other lease waiter was not rejected for someone else's failed connect: a release reaches it.
    expect(patient.settled).toBe(false);
    pool.release(held);
    const handedOver = await patient.promise;
    expect(handedOver).toBe(held);

    // Room on the server again (asked over the lease, since nobody else can connect): the pool grows under load.
    await expect(handedOver.executeCommand('CONFIG', 'SET', 'maxclients', '10000')).resolves.toBe(
      'OK',
    );
    pool.release(handedOver);
    await waitFor('lease back', () => pool.stats().leased === 0);
    const totalBefore = pool.stats().total;
    const big = 'x'.repeat(128 * 1024);
    const writes: Array<Promise<unknown>> = [];
    const growUntil = Date.now() + 10_000;
    while (pool.stats().total <= totalBefore && Date.now() < growUntil) {
      writes.push(redis.set(`${name}:big${writes.length % 8}`, big));
      await nextTurn();
    }
    const written = await settleAll(writes, 15_000);
    expect(written.every((r) => r.status === 'fulfilled' && r.value === 'OK')).toBe(true);
    expect(pool.stats().total).toBeGreaterThan(totalBefore);
    expect(downs).toEqual([]);
    await expectOwnReply(pool);
  });

  it('37: a frozen server with callers hammering for 2 s: pending stays bounded per connection and in the backlog, excess callers fail fast and typed, everything settles after resume', async () => {
    name = uniqueName('frozen-bounds');
    const MAX_CONNECTIONS = 2;
    const PER_CONNECTION = 500;
    const QUEUE = 1000;
    const PER_TURN = 100;
    pool = new ConnectionPool({
      host: server.host,
      port: server.port,
      clientName: name,
      maxConnections: MAX_CONNECTIONS,
      minIdle: MAX_CONNECTIONS,
      maxQueueLength: QUEUE,
      maxPendingPerConnection: PER_CONNECTION,
      // Longer than the hammering, so what was accepted waits for the server rather than timing out.
      commandTimeoutMs: 10_000,
      connectTimeoutMs: 500,
    });
    await waitFor('both shared connections open', () => pool.stats().total === MAX_CONNECTIONS);
    await expectOwnReply(pool);

    server.freeze();
    interface Call {
      value: string;
      promise: Promise<unknown>;
      issuedAt: number;
      settledAt: number;
    }
    const calls: Call[] = [];
    let maxPending = 0;
    const until = Date.now() + 2000;
    while (Date.now() < until) {
      for (let i = 0; i < PER_TURN; i++) {
        const value = `m${calls.length}`;
        const call: Call = {
          value,
          promise: Promise.resolve(),
          issuedAt: Date.now(),
          settledAt: 0,
        };
        call.promise = pool.executeCommand('ECHO', value);
        const settled = () => (call.settledAt = Date.now());
        call.promise.then(settled, settled);
        calls.push(call);
      }
      maxPending = Math.max(maxPending, pool.stats().pending);
      await sleep(1);
    }
    const frozenStats = pool.stats();
    maxPending = Math.max(maxPending, frozenStats.pending);
    // Bounded: each connection takes at most one turn's commands past its high-water mark, the backlog at most
    // maxQueueLength. Unbounded, it grows with every call made (tens of thousands here).
    const bound = MAX_CONNECTIONS * (PER_CONNECTION + PER_TURN) + QUEUE;
    expect(calls.length).toBeGreaterThan(3 * bound);
    expect(maxPending).toBeLessThanOrEqual(bound);
    expect(frozenStats.queued).toBeLessThanOrEqual(QUEUE);
    // The excess failed at once, typed, while the server was still frozen.
    const early = calls.filter((c) => c.settledAt !== 0);
    expect(early.length).toBeGreaterThanOrEqual(calls.length - bound);
    const typed = (reason: unknown) =>
      reason instanceof PoolExhaustedError || reason instanceof TimeoutError;
    const earlyResults = await settleAll(
      early.map((c) => c.promise),
      1000,
    );
    // Checked in bulk (tens of thousands of results): a single expect per property.
    expect(earlyResults.filter((r) => r.status !== 'rejected' || !typed(r.reason))).toEqual([]);
    const slowest = Math.max(...early.map((c) => c.settledAt - c.issuedAt));
    expect(slowest).toBeLessThan(1000);

    // After resume every call settles: the accepted ones with their own reply, the others typed.
    server.resume();
    const results = await settleAll(
      calls.map((c) => c.promise),
      20_000,
    );
    const wrong = results.filter((result, i) =>
      result.status === 'fulfilled' ? result.value !== calls[i].value : !typed(result.reason),
    );
    expect(wrong).toEqual([]);
    const answered = results.filter((r) => r.status === 'fulfilled').length;
    expect(answered).toBeGreaterThanOrEqual(MAX_CONNECTIONS * PER_CONNECTION);
    await waitFor('nothing pending', () => pool.stats().pending === 0);
    await expectOwnReply(pool);
    expect(pool.stats().total).toBe(MAX_CONNECTIONS);
  });

  it('40: a value over 512 MB is refused with RangeError before anything is queued; nothing is written and concurrent callers are unaffected', async () => {
    name = uniqueName('huge-value');
    pool = new ConnectionPool({ host: server.host, port: server.port, clientName: name });
    const redis = new RedisService(pool);
    await expectOwnReply(pool);
    const closes: unknown[] = [];
    pool.on('close', (id) => closes.push(id));
    const idsOf = async () =>
      (await server.clientList())
        .filter((c) => c.name === name)
        .map((c) => c.id)
        .sort();
    const idsBefore = await idsOf();
    const dbsizeBefore = await pool.executeCommand<number>('DBSIZE');
    const hugeKey = `${name}:huge`;

    const huge = Buffer.alloc(513 * 1024 * 1024);
    // Callers before and after it in the same turn share its connection and its write.
    const before = redis.set(`${name}:a`, 'A');
    const refused = redis.set(hugeKey, huge);
    const after = redis.get(`${name}:a`);
    expect(pool.stats().pending).toBe(2);
    const error = await refused.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RangeError);
    expect((error as Error).message).toMatch(/536870912-byte limit/);
    await expect(before).resolves.toBe('OK');
    await expect(after).resolves.toBe('A');

    // The same through executeCommand, and on a lease, which stays usable.
    await expect(pool.executeCommand('SET', hugeKey, huge)).rejects.toBeInstanceOf(RangeError);
    await pool.withConnection(async (connection) => {
      await expect(connection.executeCommand('SET', hugeKey, huge)).rejects.toBeInstanceOf(
        RangeError,
      );
      await expect(connection.executeCommand('PING')).resolves.toBe('PONG');
    });
    // A string whose UTF-8 form is over the limit ('é' takes two bytes), though it has fewer characters.
    const text = 'é'.repeat(257 * 1024 * 1024);
    const concurrent = redis.set(`${name}:b`, 'B');
    await expect(redis.set(hugeKey, text)).rejects.toBeInstanceOf(RangeError);
    await expect(concurrent).resolves.toBe('OK');

    expect(await pool.executeCommand('EXISTS', hugeKey)).toBe(0);
    expect(await pool.executeCommand<number>('DBSIZE')).toBe(dbsizeBefore + 2);
    expect(closes).toEqual([]);
    expect(await idsOf()).toEqual(idsBefore);
    await expectOwnReply(pool);
  });
});

describe('found by these tests, fixed in lib/', () => {
  watchUnhandledRejections();
  let server: RedisServerHandle;
  let pool: ConnectionPool;
  let name: string;
  let squatters: net.Socket[] = [];

  beforeEach(async () => {
    server = await startRedisServer();
  });

  afterEach(async () => {
    for (const socket of squatters) socket.destroy();
    squatters = [];
    await expectNothingOpen(pool, server, name);
    await server.dispose();
  });

  /** Fills the server up to maxclients with raw sockets, given the pool's `own` connections already open. */
  const fillServer = async (own: number, probe: () => Promise<number>) => {
    await server.cli('CONFIG', 'SET', 'maxclients', String(own + 2));
    await waitFor('redis-cli gone', async () => (await probe()) === own);
    for (let i = 0; i < 2; i++) squatters.push((await rawClient(server, 0)).socket);
    await waitFor('server full', async () => (await probe()) === own + 2);
  };

  // Was a bug (lib/pool/shared-dispatcher.ts, dispatch()): once a growth
  // attempt failed (maxclients), every new command that finds the serving connection at its high-water mark is
  // rejected with that connect error during the backoff, instead of queueing (bounded by maxQueueLength) for the
  // connection that is serving.
  it('35: under sustained load, commands past the high-water mark are not failed with the maxclients error of a growth attempt while the pool serves', async () => {
    name = uniqueName('maxclients-load');
    pool = new ConnectionPool({
      host: server.host,
      port: server.port,
      clientName: name,
      maxConnections: 4,
      maxPendingPerConnection: 8,
      retry: { baseDelayMs: 20, maxDelayMs: 200 },
    });
    const redis = new RedisService(pool);
    await expectOwnReply(pool);
    const clients = async () => {
      const info = await pool.executeCommand<string>('INFO', 'clients');
      return Number(/connected_clients:(\d+)/.exec(info)?.[1]);
    };
    await fillServer(1, clients);
    const commands: Array<Promise<unknown>> = [];
    const until = Date.now() + 1000;
    for (let turn = 0; Date.now() < until; turn++) {
      for (let i = 0; i < 20; i++) commands.push(handled(redis.set(`${name}:${turn}:${i}`, 'v')));
      await nextTurn();
    }
    const answered = await settleAll(commands, 15_000);
    const failed = answered.filter((r) => r.status === 'rejected') as PromiseRejectedResult[];
    expect(failed.slice(0, 1).map((r) => String(r.reason))).toEqual([]);
    expect(failed.length).toBe(0);
  });

  // Was a bug (lib/pool/connection-pool.ts afterLeaseFreed(), lib/pool/lease-manager.ts afterLeaseFreed() in the
  // refactor): a lease that ends without its connection coming back (discarded, or closed) during a connect
  // backoff opens nothing for the oldest waiter, and nothing does so once the backoff ends: the waiter waits out
  // acquireTimeoutMs although the budget and the server have room.
  it('a lease waiter is served when a discarded lease frees budget during a connect backoff, not left to acquireTimeoutMs', async () => {
    name = uniqueName('stranded-waiter');
    pool = new ConnectionPool({
      host: server.host,
      port: server.port,
      clientName: name,
      maxConnections: 1,
      maxLeases: 1,
      acquireTimeoutMs: 2500,
      retry: { baseDelayMs: 400, maxDelayMs: 400 },
    });
    const lease = await pool.getConnection();
    await fillServer(1, () => connectedClients(lease));
    // A failed connect (maxclients) puts the pool in backoff, 200-400 ms here.
    const refused = await pool.executeCommand('PING').catch((error: unknown) => error);
    expect((refused as Error).message).toMatch(/max number of clients/);
    for (const socket of squatters) socket.destroy();
    squatters = [];
    const waiter = track(pool.getConnection());
    // CLIENT SETNAME makes the lease be discarded at release: the lease budget has room again.
    await lease.executeCommand('CLIENT', 'SETNAME', 'changed');
    const released = Date.now();
    pool.release(lease);
    const next = await waiter.promise.catch((error: unknown) => error);
    expect(next).not.toBeInstanceOf(Error);
    expect(Date.now() - released).toBeLessThan(1500);
    pool.release(next as Connection);
  });
});
