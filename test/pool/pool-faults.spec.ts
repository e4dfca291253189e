import * as net from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import {
  ConnectionError,
  RedisError,
  ResponseError,
  TimeoutError,
} from '../../lib/errors/redis-pool.errors';
import { ConnectionPool } from '../../lib/pool/connection-pool';
import type { PoolOptions } from '../../lib/pool/pool-options';
import { getFreePort, startRedisServer, startTcpProxy, type RedisServerHandle } from '../harness';
import {
  expectNothingOpen,
  expectOwnReply,
  serverConnections,
  settleAll,
  sleep,
  uniqueName,
  watchUnhandledRejections,
} from './pool-checks';

/** A real `gc()`: jest does not pass `--expose-gc` on, but a context created after setting the flag has it. */
function exposeGc(): () => void {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

describe('ConnectionPool under faults', () => {
  watchUnhandledRejections();
  let server: RedisServerHandle;
  let pool: ConnectionPool;
  let name: string;

  beforeEach(async () => {
    server = await startRedisServer({ unixSocket: true });
  });

  afterEach(async () => {
    if (server.frozen) server.resume();
    await expectNothingOpen(pool, server.running ? server : null, name);
    await server.dispose();
  });

  const open = (options: PoolOptions = {}) => {
    name = uniqueName('faults');
    pool = new ConnectionPool({
      host: server.host,
      port: server.port,
      clientName: name,
      connectTimeoutMs: 500,
      commandTimeoutMs: 3000,
      retry: { attempts: 3, baseDelayMs: 20, maxDelayMs: 200 },
      ...options,
    });
    return pool;
  };

  /** Counts connect attempts through the pool's `error` events. */
  const countConnectFailures = () => {
    const failures: Error[] = [];
    pool.on('error', (error: Error) => failures.push(error));
    return failures;
  };

  /** Writes commands behind a DEBUG SLEEP so that they are on the wire, unanswered, when the fault hits. */
  const parkBehindSleep = async (seconds: number): Promise<{ outcome: Promise<unknown> }> => {
    const outcome = pool.executeCommand('DEBUG', 'SLEEP', String(seconds)).catch((e: unknown) => e);
    await sleep(20);
    // Wrapped, so that awaiting this helper does not also await the sleep.
    return { outcome };
  };

  it('1: a closed port gives ConnectionError within connectTimeoutMs, then backs off with jitter', async () => {
    const port = await getFreePort();
    open({ port });
    const failures = countConnectFailures();
    const started = Date.now();
    await expect(pool.executeCommand('PING')).rejects.toThrow(ConnectionError);
    expect(Date.now() - started).toBeLessThan(500);
    const errors: unknown[] = [];
    const until = Date.now() + 1000;
    while (Date.now() < until) {
      errors.push(await pool.executeCommand('PING').catch((e: unknown) => e));
      await sleep(1);
    }
    expect(errors.length).toBeGreaterThan(50);
    expect(errors.every((e) => e instanceof ConnectionError)).toBe(true);
    // Hundreds of calls, but only a handful of connects: the backoff (20 ms doubling to 200 ms) holds.
    expect(failures.length).toBeGreaterThan(2);
    expect(failures.length).toBeLessThan(20);
  });

  it('2: a frozen server gives TimeoutError; no half-open connection enters the pool', async () => {
    open({ connectTimeoutMs: 300, commandTimeoutMs: 400 });
    await expectOwnReply(pool);
    server.freeze();
    const started = Date.now();
    await expect(pool.executeCommand('GET', 'frozen')).rejects.toThrow(TimeoutError);
    expect(Date.now() - started).toBeLessThan(1000);

    const fresh = new ConnectionPool({
      host: server.host,
      port: server.port,
      connectTimeoutMs: 300,
    });
    const connectStarted = Date.now();
    await expect(fresh.executeCommand('PING')).rejects.toThrow(TimeoutError);
    expect(Date.now() - connectStarted).toBeLessThan(1000);
    expect(fresh.stats()).toMatchObject({ total: 0, connecting: 0 });
    await fresh.disconnect();

    server.resume();
    await sleep(50);
    await expectOwnReply(pool);
  });

  it('3: SIGKILL with 1 000 commands in flight: written ones reject with commandMayHaveRun, none gets another reply', async () => {
    open({ maxConnections: 2 });
    await expectOwnReply(pool);
    const sleeping = await parkBehindSleep(0.5);
    const writes = Array.from({ length: 500 }, (_, i) =>
      pool.executeCommand('SET', `k${i}`, `v${i}`),
    );
    const reads = Array.from({ length: 500 }, (_, i) => pool.executeCommand('ECHO', `e${i}`));
    const settledWrites = settleAll(writes, 5000);
    const settledReads = settleAll(reads, 5000);
    await sleep(20);
    await server.kill();
    const after = Array.from({ length: 100 }, (_, i) => pool.executeCommand('ECHO', `late${i}`));
    const settledAfter = settleAll(after, 5000);
    await server.start();
    const [writeResults, readResults, afterResults] = await Promise.all([
      settledWrites,
      settledReads,
      settledAfter,
    ]);
    expect(await sleeping.outcome).toBeInstanceOf(ConnectionError);
    for (const result of writeResults) {
      // SET is not read-only: written before the kill, it may have run, so it is never re-sent.
      expect(result.status).toBe('rejected');
      const error = (result as PromiseRejectedResult).reason as ConnectionError;
      expect(error).toBeInstanceOf(ConnectionError);
      expect(error.commandMayHaveRun).toBe(true);
    }
    readResults.forEach((result, i) => {
      if (result.status === 'fulfilled') expect(result.value).toBe(`e${i}`);
      else expect((result.reason as Error) instanceof RedisError).toBe(true);
    });
    afterResults.forEach((result, i) => {
      if (result.status === 'fulfilled') expect(result.value).toBe(`late${i}`);
      else expect((result.reason as Error) instanceof RedisError).toBe(true);
    });
    await expectOwnReply(pool);
  });

  it('2b: a per-call timeout is reported as that timeout, and disconnect keeps its drain deadline on a frozen server', async () => {
    open({ commandTimeoutMs: 10_000, connectTimeoutMs: 5000 });
    await expectOwnReply(pool);
    server.freeze();
    const started = Date.now();
    const error = await pool.execute('PING', [], { timeoutMs: 200 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TimeoutError);
    expect((error as Error).message).toMatch(/timed out after 200 ms/);
    expect(Date.now() - started).toBeLessThan(600);
    const closing = Date.now();
    await pool.disconnect({ drainTimeoutMs: 100 });
    expect(Date.now() - closing).toBeLessThan(1000);
    server.resume();
    // An idle pool's connections get QUIT; a frozen server never answers it, and the drain deadline still holds.
    const idle = new ConnectionPool({
      host: server.host,
      port: server.port,
      connectTimeoutMs: 5000,
    });
    await expectOwnReply(idle);
    expect(idle.stats()).toMatchObject({ total: 1, pending: 0 });
    server.freeze();
    const quitting = Date.now();
    await idle.disconnect({ drainTimeoutMs: 100 });
    expect(Date.now() - quitting).toBeLessThan(1000);
    server.resume();
  });

  it('4: after a restart on the same port the pool recovers alone, db, name and protocol first', async () => {
    open({ db: 3, protocol: 3 });
    await expectOwnReply(pool);
    await server.restart();
    let info = '';
    for (let i = 0; i < 50 && info === ''; i++) {
      info = await pool.executeCommand<string>('CLIENT', 'INFO').catch(() => '');
      if (info === '') await sleep(50);
    }
    expect(info).toContain(' db=3 ');
    expect(info).toContain(` name=${name} `);
    expect(info).toMatch(/ resp=3\b/);
    await expectOwnReply(pool);
  });

  it('4b: while a restarted server is LOADING its data set, commands wait within their deadline instead of failing', async () => {
    open({ commandTimeoutMs: 15_000, connectTimeoutMs: 2000 });
    await pool.executeCommand('DEBUG', 'POPULATE', 2_000_000, 'load');
    await pool.executeCommand('SET', 'loaded:marker', 'here');
    await server.cli('SAVE');
    await server.kill();
    // Not awaited: the harness waits for "Ready", which the server logs only after loading.
    const starting = server.start();
    let sawLoading = false;
    for (let i = 0; i < 100 && !sawLoading; i++) {
      sawLoading = (await server.cli('PING').catch(() => '')).startsWith('LOADING');
      if (!sawLoading) await sleep(10);
    }
    const started = Date.now();
    // Without a client name the handshake is a PING, which a loading server refuses: that connect must count
    // as transient too.
    const unnamed = new ConnectionPool({
      host: server.host,
      port: server.port,
      commandTimeoutMs: 15_000,
    });
    const replies = await Promise.all([
      pool.executeCommand('GET', 'loaded:marker'),
      pool.executeCommand('DBSIZE'),
      pool.executeCommand('SET', 'after', 'load'),
      unnamed.executeCommand('GET', 'loaded:marker'),
    ]);
    await starting;
    await unnamed.disconnect();
    expect(sawLoading).toBe(true);
    // Concurrent callers retried independently may land in either order: DBSIZE sees the SET or not.
    expect(replies).toEqual(['here', expect.any(Number), 'OK', 'here']);
    expect([2_000_001, 2_000_002]).toContain(replies[1]);
    expect(Date.now() - started).toBeLessThan(15_000);
  });

  it('5: CLIENT KILL of pooled connections fails their in-flight commands once, with one close event each', async () => {
    open({ maxConnections: 3 });
    const closes: number[] = [];
    pool.on('close', (id: number) => closes.push(id));
    const leases = await Promise.all([
      pool.getConnection(),
      pool.getConnection(),
      pool.getConnection(),
    ]);
    leases.forEach((c) => pool.release(c));
    const inFlight = Array.from({ length: 300 }, (_, i) => pool.executeCommand('ECHO', `x${i}`));
    const killed = Number(await server.cli('CLIENT', 'KILL', 'TYPE', 'normal', 'SKIPME', 'yes'));
    const results = await settleAll(inFlight, 5000);
    results.forEach((result, i) => {
      if (result.status === 'fulfilled') expect(result.value).toBe(`x${i}`);
      else expect((result.reason as Error) instanceof ConnectionError).toBe(true);
    });
    await sleep(50);
    expect(killed).toBeGreaterThanOrEqual(1);
    expect(closes.length).toBe(killed);
    await expectOwnReply(pool);
  });

  it('6: connections closed by the server idle timeout are replaced silently', async () => {
    open({ maxConnections: 2 });
    await expectOwnReply(pool);
    await server.cli('CONFIG', 'SET', 'timeout', '1');
    await sleep(2500);
    expect(await serverConnections(server, name)).toBe(0);
    await expectOwnReply(pool);
    await server.cli('CONFIG', 'SET', 'timeout', '0');
  });

  it('7: maxclients reached gives a typed error fast, not a hot reconnect loop', async () => {
    const squatters: net.Socket[] = [];
    await server.cli('CONFIG', 'SET', 'maxclients', '2');
    for (let i = 0; i < 2; i++) {
      const socket = net.connect(server.port, server.host);
      await new Promise((resolve) => socket.once('connect', resolve));
      squatters.push(socket);
    }
    await sleep(50);
    open();
    const failures = countConnectFailures();
    const first = await pool.executeCommand('PING').catch((e: unknown) => e);
    expect(first).toBeInstanceOf(ResponseError);
    expect((first as ResponseError).message).toMatch(/max number of clients reached/);
    const until = Date.now() + 700;
    while (Date.now() < until) {
      const e = await pool.executeCommand('PING').catch((error: unknown) => error);
      expect(e).toBeInstanceOf(RedisError);
      await sleep(1);
    }
    expect(failures.length).toBeLessThan(15);
    squatters.forEach((s) => s.destroy());
    await sleep(100);
    await server.cli('CONFIG', 'SET', 'maxclients', '10000');
    let ok = false;
    for (let i = 0; i < 40 && !ok; i++) {
      ok = (await pool.executeCommand('PING').catch(() => null)) === 'PONG';
      if (!ok) await sleep(50);
    }
    expect(ok).toBe(true);
  });

  it('8: a missing unix socket is a typed error; it works again when the socket reappears', async () => {
    name = uniqueName('faults-unix');
    pool = new ConnectionPool({
      path: server.socketPath,
      clientName: name,
      connectTimeoutMs: 500,
      retry: { baseDelayMs: 20, maxDelayMs: 100 },
    });
    await expectOwnReply(pool);
    await server.stop();
    await expect(pool.executeCommand('PING')).rejects.toThrow(ConnectionError);
    const missing = new ConnectionPool({ path: `${server.dir}/nope.sock` });
    await expect(missing.executeCommand('PING')).rejects.toMatchObject({
      name: 'ConnectionError',
      message: expect.stringContaining('ENOENT'),
    });
    await missing.disconnect();
    await server.start();
    let reply: unknown = null;
    for (let i = 0; i < 40 && reply !== 'PONG'; i++) {
      reply = await pool.executeCommand('PING').catch(() => null);
      if (reply !== 'PONG') await sleep(50);
    }
    expect(reply).toBe('PONG');
    await expectOwnReply(pool);
  });

  it('9: DEBUG SLEEP 2 with commandTimeoutMs 500 times out, and the next GET gets its own value', async () => {
    open({ commandTimeoutMs: 500, maxConnections: 1 });
    await pool.executeCommand('SET', 'nine', 'mine');
    const started = Date.now();
    const slow = pool.executeCommand('DEBUG', 'SLEEP', '2');
    await expect(slow).rejects.toThrow(TimeoutError);
    await expect(slow).rejects.toMatchObject({ commandMayHaveRun: true });
    expect(Date.now() - started).toBeLessThan(900);
    // Issued while the server still sleeps: its own value or a typed error (a timeout, or its connection given
    // up as unresponsive), never the sleeper's "OK".
    const during = await pool.executeCommand('GET', 'nine').catch((e: unknown) => e);
    if (typeof during === 'string') expect(during).toBe('mine');
    else expect(during).toBeInstanceOf(RedisError);
    await sleep(Math.max(0, started + 2100 - Date.now()));
    await expect(pool.executeCommand('GET', 'nine')).resolves.toBe('mine');
    await expectOwnReply(pool);
  });

  it('10: an INCR whose reply is lost grows the counter by at most 1 and is not retried', async () => {
    const proxy = await startTcpProxy({ host: server.host, port: server.port });
    try {
      name = uniqueName('faults-incr');
      pool = new ConnectionPool({
        host: proxy.host,
        port: proxy.port,
        clientName: name,
        commandTimeoutMs: 3000,
      });
      await expectOwnReply(pool);
      proxy.setDelay(150);
      const incr = pool.executeCommand('INCR', 'counter');
      await sleep(230);
      proxy.cutAll();
      await expect(incr).rejects.toMatchObject({
        name: 'ConnectionError',
        commandMayHaveRun: true,
      });
      proxy.setDelay(0);
      await sleep(100);
      expect(await server.cli('GET', 'counter')).toBe('1');
    } finally {
      await pool.disconnect();
      await proxy.close();
    }
  });

  it('11: BLPOP 0 on a lease rejects when the server dies and is not re-sent', async () => {
    open();
    const lease = await pool.getConnection();
    const blocked = lease.executeCommand('BLPOP', 'jobs', 0);
    await sleep(50);
    await server.kill();
    await expect(blocked).rejects.toMatchObject({
      name: 'ConnectionError',
      commandMayHaveRun: true,
    });
    pool.release(lease);
    await server.start();
    await sleep(50);
    await server.cli('RPUSH', 'jobs', 'j1');
    await sleep(100);
    expect(await server.cli('LRANGE', 'jobs', '0', '-1')).toBe('j1');
  });

  it('12: a read-only command whose connection dies is retried once the server is back, within its deadline', async () => {
    open({ commandTimeoutMs: 5000 });
    await expectOwnReply(pool);
    const sleeping = await parkBehindSleep(0.3);
    const read = pool.executeCommand('ECHO', 'still mine');
    const write = pool.executeCommand('SET', 'w', '1');
    await sleep(20);
    await server.kill();
    const restarted = sleep(300).then(() => server.start());
    await expect(read).resolves.toBe('still mine');
    await restarted;
    await expect(write).rejects.toMatchObject({ name: 'ConnectionError', commandMayHaveRun: true });
    expect(await sleeping.outcome).toBeInstanceOf(ConnectionError);
    await expectOwnReply(pool);
  });

  it('14: a connect failure while a lease waiter waits rejects that waiter with the real cause', async () => {
    open({ maxConnections: 1, acquireTimeoutMs: 3000 });
    const lease = await pool.getConnection();
    const waiter = pool.getConnection().catch((e: unknown) => e);
    await server.kill();
    pool.release(lease);
    const error = await waiter;
    expect(error).toBeInstanceOf(ConnectionError);
    // The connect to a dying or dead server: refused, or reset while the kernel tears the listener down.
    expect((error as Error).message).toMatch(/ECONNREFUSED|ECONNRESET/);
    await server.start();
    await sleep(300);
    await expectOwnReply(pool);
  });

  it('17: callers hammering a dead, then unreachable server get fast typed errors, a bounded backlog and flat memory; recovery is no burst', async () => {
    const gc = exposeGc();
    /** What is live after a full collection: the JS heap and the Buffers. */
    const liveBytes = async () => {
      gc();
      // The memory of Buffers found dead is given back a moment after the collection: collect once more then.
      await new Promise((resolve) => setImmediate(resolve));
      gc();
      const { heapUsed, arrayBuffers } = process.memoryUsage();
      return heapUsed + arrayBuffers;
    };
    const proxy = await startTcpProxy({ host: server.host, port: server.port });
    try {
      // Above the 50 callers of the first part, so that only the partition can fill the backlog.
      const maxQueueLength = 100;
      open({
        host: proxy.host,
        port: proxy.port,
        maxConnections: 4,
        maxQueueLength,
        // A connect into the partition below hangs for all of it.
        connectTimeoutMs: 10_000,
        retry: { baseDelayMs: 50, maxDelayMs: 500 },
      });
      const connects: number[] = [];
      pool.on('connect', () => connects.push(Date.now()));
      const failures = countConnectFailures();
      await expectOwnReply(pool);

      // Dead: every connect is refused at once. (Commands sent before the pool saw its connection close would be
      // retried within their deadline, as in 12; these callers come after.)
      await server.kill();
      for (let i = 0; i < 100 && pool.stats().total > 0; i++) await sleep(10);
      expect(pool.stats().total).toBe(0);
      const beforeDead = await liveBytes();
      let calls = 0;
      let slowest = 0;
      const untyped: unknown[] = [];
      const downUntil = Date.now() + 3000;
      await Promise.all(
        Array.from({ length: 50 }, async () => {
          while (Date.now() < downUntil) {
            const started = Date.now();
            const e = await pool.executeCommand('GET', 'x').catch((error: unknown) => error);
            slowest = Math.max(slowest, Date.now() - started);
            calls++;
            if (!(e instanceof ConnectionError || e instanceof TimeoutError)) untyped.push(e);
            await sleep(5);
          }
        }),
      );
      expect(untyped).toEqual([]);
      expect(calls).toBeGreaterThan(1000);
      expect(slowest).toBeLessThan(1000);
      expect(failures.length).toBeLessThan(30);
      expect(pool.stats()).toMatchObject({ queued: 0, pending: 0 });
      expect((await liveBytes()) - beforeDead).toBeLessThan(16 * 1024 * 1024);

      // Unreachable: connects hang, and callers who do not wait for each other keep sending 32 KB values. Only
      // maxQueueLength of them may wait for a connection; the rest fail at once.
      proxy.setMode('blackhole');
      const baseline = await liveBytes();
      let issued = 0;
      let outstanding = 0;
      let slowestHammered = 0;
      let peakQueued = 0;
      let peakBytes = 0;
      const unexpected: unknown[] = [];
      const partitionUntil = Date.now() + 2500;
      const hammering = Array.from({ length: 10 }, async (_, caller) => {
        while (Date.now() < partitionUntil) {
          for (let i = 0; i < 3; i++) {
            const started = Date.now();
            issued++;
            outstanding++;
            pool
              .execute('SET', [`hammer:${caller}`, Buffer.alloc(32 * 1024)], { timeoutMs: 500 })
              .then(
                (reply: unknown) => unexpected.push(reply),
                (error: unknown) => {
                  if (!(error instanceof RedisError)) unexpected.push(error);
                },
              )
              .finally(() => {
                outstanding--;
                slowestHammered = Math.max(slowestHammered, Date.now() - started);
              });
          }
          await sleep(5);
        }
      });
      const sampling = (async () => {
        while (Date.now() < partitionUntil) {
          await sleep(400);
          peakQueued = Math.max(peakQueued, pool.stats().queued);
          peakBytes = Math.max(peakBytes, (await liveBytes()) - baseline);
        }
      })();
      await Promise.all([...hammering, sampling]);
      for (let i = 0; i < 200 && outstanding > 0; i++) await sleep(10);
      expect(outstanding).toBe(0);
      expect(unexpected).toEqual([]);
      expect(slowestHammered).toBeLessThan(1000);
      expect(peakQueued).toBeLessThanOrEqual(maxQueueLength);
      // At 1200 a second or more, an unbounded backlog holds the last 500 ms of values: over 600 of them, 19 MB and
      // more. The bounded one holds 100: 3.2 MB.
      expect(issued).toBeGreaterThan(3000);
      expect(peakBytes).toBeLessThan(12 * 1024 * 1024);
      expect(pool.stats()).toMatchObject({ queued: 0, pending: 0 });

      const connectsBefore = connects.length;
      await server.start();
      proxy.setMode('pass');
      // The connect hanging in the partition goes with it.
      proxy.cutAll();
      let recovered = false;
      for (let i = 0; i < 60 && !recovered; i++) {
        recovered = (await pool.executeCommand('PING').catch(() => null)) === 'PONG';
        if (!recovered) await sleep(50);
      }
      expect(recovered).toBe(true);
      await Promise.all(Array.from({ length: 200 }, () => pool.executeCommand('PING')));
      expect(connects.length - connectsBefore).toBeLessThanOrEqual(4);
      expect(await serverConnections(server, name)).toBeLessThanOrEqual(4);
    } finally {
      await pool.disconnect();
      await proxy.close();
    }
  });
});
