import { RedisService } from '../../lib/client';
import { ConfigurationError, PoolClosedError } from '../../lib/errors/redis-pool.errors';
import { ConnectionPool } from '../../lib/pool/connection-pool';
import type { PoolOptions } from '../../lib/pool/pool-options';
import { startRedisServer, type RedisServerHandle } from '../harness';
import {
  activeTimeouts,
  collectProcessWarnings,
  trackTimers,
  type TimerTracker,
} from '../harness/timer-tracker';
import { handled, serverConnectionsRunning, track, waitFor } from './bounds-checks';
import {
  expectNothingOpen,
  expectOwnReply,
  settleAll,
  sleep,
  uniqueName,
  watchUnhandledRejections,
} from './pool-checks';

/** The longest delay a Node timer holds. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Timers created by the library (not by the test or jest), still armed. */
function libraryTimers(tracker: TimerTracker) {
  return tracker.live().filter((t) => /[\\/]lib[\\/]/.test(t.stack));
}

describe('36: timeouts above 2^31-1 ms', () => {
  const MS_OPTIONS = [
    'acquireTimeoutMs',
    'connectTimeoutMs',
    'commandTimeoutMs',
    'idleTimeoutMs',
    'maxLifetimeMs',
    'healthCheckIntervalMs',
    'keepAliveMs',
    'drainTimeoutMs',
  ] as const;

  it.each(MS_OPTIONS)(
    'refuses %s above 2^31-1 at construction, accepts it at 2^31-1',
    async (key) => {
      for (const tooLong of [MAX_TIMER_MS + 1, 3e9]) {
        const options: PoolOptions = { host: '127.0.0.1', port: 1, [key]: tooLong };
        expect(() => new ConnectionPool(options)).toThrow(ConfigurationError);
        expect(() => new ConnectionPool(options)).toThrow(
          new RegExp(`option ${key}: \\d+ \\(number\\) must be at most`),
        );
      }
      expect(() => ConnectionPool.fromUrl(`redis://127.0.0.1:1?${key}=3000000000`)).toThrow(
        ConfigurationError,
      );
      const longest = new ConnectionPool({ host: '127.0.0.1', port: 1, [key]: MAX_TIMER_MS });
      await longest.disconnect();
    },
  );

  it.each(['baseDelayMs', 'maxDelayMs'] as const)(
    'refuses retry.%s above 2^31-1 at construction, accepts it at 2^31-1',
    async (key) => {
      for (const tooLong of [MAX_TIMER_MS + 1, 3e9]) {
        expect(
          () => new ConnectionPool({ host: '127.0.0.1', port: 1, retry: { [key]: tooLong } }),
        ).toThrow(ConfigurationError);
      }
      const longest = new ConnectionPool({
        host: '127.0.0.1',
        port: 1,
        retry: { [key]: MAX_TIMER_MS },
      });
      await longest.disconnect();
    },
  );

  describe('honoured per call', () => {
    watchUnhandledRejections();
    let server: RedisServerHandle;
    let pool: ConnectionPool;
    let name: string;
    let tracker: TimerTracker;
    let warnings: ReturnType<typeof collectProcessWarnings>;

    beforeEach(async () => {
      server = await startRedisServer();
      warnings = collectProcessWarnings('TimeoutOverflowWarning');
    });

    afterEach(async () => {
      tracker?.stop();
      warnings.stop();
      if (server.frozen) server.resume();
      await expectNothingOpen(pool, server, name);
      await server.dispose();
    });

    /** The call is still pending after a while, and the library armed no timer loop meanwhile. */
    const expectQuietlyPending = async (call: { readonly settled: boolean }) => {
      await sleep(300);
      expect(call.settled).toBe(false);
      expect(warnings.seen.map((w) => w.message)).toEqual([]);
      // A deadline Node cannot hold would fire after 1 ms and be re-armed in a loop: hundreds of timers here.
      expect(tracker.created()).toBeLessThan(20);
      expect(tracker.delays().filter((d) => d > MAX_TIMER_MS)).toEqual([]);
    };

    it('a per-call timeoutMs of 3e9 on the shared path, queued and then sent: no overflow, no timer loop, the reply resolves it', async () => {
      name = uniqueName('long-call');
      // Frozen from the start: the connect is accepted but its handshake waits, so the command waits in the
      // backlog first (its own timer), then on the connection (another) once the server resumes.
      server.freeze();
      pool = new ConnectionPool({
        host: server.host,
        port: server.port,
        clientName: name,
        connectTimeoutMs: 60_000,
      });
      const redis = new RedisService(pool);
      tracker = trackTimers();
      const queued = track(redis.withOptions({ timeoutMs: 3e9 }).ping());
      expect(pool.stats()).toMatchObject({ queued: 1, connecting: 1 });
      await expectQuietlyPending(queued);
      server.resume();
      await expect(queued.promise).resolves.toBe('PONG');

      // Now on an open connection whose server stops answering.
      await redis.set(`${name}:k`, 'v');
      server.freeze();
      tracker.reset();
      const sent = track(redis.withOptions({ timeoutMs: 3e9 }).get(`${name}:k`));
      await expectQuietlyPending(sent);
      server.resume();
      await expect(sent.promise).resolves.toBe('v');
      await expectOwnReply(pool);
      expect(warnings.seen).toEqual([]);
    });

    it('blpop(k, 3e6), a blocking timeout of 3e6 s on a lease: no overflow, no timer loop, an LPUSH resolves it', async () => {
      name = uniqueName('long-blpop');
      pool = new ConnectionPool({ host: server.host, port: server.port, clientName: name });
      const redis = new RedisService(pool);
      tracker = trackTimers();
      const queue = `${name}:q`;
      // The first command of a fresh lease, so the deadline timer armed is the BLPOP's own (10 s + 3e6 s).
      const popped = track(redis.blpop(queue, 3e6));
      await waitFor('the lease is held', () => pool.stats().leased === 1);
      await expectQuietlyPending(popped);
      await waitFor(
        'BLPOP blocked on the server',
        async () => (await serverConnectionsRunning(server, name, 'blpop')) === 1,
      );
      await expect(redis.lpush(queue, 'job')).resolves.toBe(1);
      await expect(popped.promise).resolves.toEqual({ key: queue, element: 'job' });
      await expectOwnReply(pool);
      expect(warnings.seen).toEqual([]);
    });
  });
});

describe('shutdown leaves nothing ticking', () => {
  watchUnhandledRejections();
  let server: RedisServerHandle;
  let pool: ConnectionPool;
  let name: string;
  let tracker: TimerTracker;

  beforeEach(async () => {
    server = await startRedisServer();
  });

  afterEach(async () => {
    tracker?.stop();
    if (server.frozen) server.resume();
    await expectNothingOpen(pool, server, name);
    await server.dispose();
  });

  it('a connection adopted while the pool closes serves what was queued, and leaves no timer behind, unreferenced ones included', async () => {
    name = uniqueName('adopt-closing');
    const before = activeTimeouts();
    tracker = trackTimers();
    pool = new ConnectionPool({
      host: server.host,
      port: server.port,
      clientName: name,
      // Short maintenance period, so a restarted maintenance timer would be seen ticking too.
      idleTimeoutMs: 100,
    });
    // Accepted before the close, with a connect in flight when disconnect() is called.
    const accepted = pool.executeCommand('SET', `${name}:k`, 'v');
    expect(pool.stats()).toMatchObject({ queued: 1, connecting: 1 });
    const closing = pool.disconnect();
    await expect(accepted).resolves.toBe('OK');
    await closing;
    await expect(pool.executeCommand('PING')).rejects.toBeInstanceOf(PoolClosedError);
    expect(libraryTimers(tracker).map((t) => `${t.kind} ${t.delay} ms\n${t.stack}`)).toEqual([]);
    expect(activeTimeouts()).toBeLessThanOrEqual(before);
    // Nothing starts later either (a maintenance timer restarted by the adoption would tick every 100 ms).
    await sleep(350);
    expect(libraryTimers(tracker)).toEqual([]);
    expect(await server.cli('GET', `${name}:k`)).toBe('v');
  });

  it('a command queued behind a connect that never finishes: disconnect() rejects it at the drain deadline and leaves no backlog or connect timer', async () => {
    name = uniqueName('backlog-closing');
    const before = activeTimeouts();
    tracker = trackTimers();
    // Frozen: the connect is accepted, its handshake never answered.
    server.freeze();
    pool = new ConnectionPool({
      host: server.host,
      port: server.port,
      clientName: name,
      connectTimeoutMs: 30_000,
      commandTimeoutMs: 30_000,
    });
    const queued = handled(pool.executeCommand('GET', `${name}:k`));
    expect(pool.stats()).toMatchObject({ queued: 1, connecting: 1 });
    expect(activeTimeouts()).toBeGreaterThan(before);
    const started = Date.now();
    await pool.disconnect({ drainTimeoutMs: 200 });
    expect(Date.now() - started).toBeLessThan(5000);
    const [result] = await settleAll([queued], 1000);
    expect(result.status).toBe('rejected');
    expect((result as PromiseRejectedResult).reason).toBeInstanceOf(PoolClosedError);
    expect(libraryTimers(tracker).map((t) => `${t.kind} ${t.delay} ms\n${t.stack}`)).toEqual([]);
    expect(activeTimeouts()).toBeLessThanOrEqual(before);
    server.resume();
  });

  // Was a bug (lib/pool/shared-dispatcher.ts `get queued()` counted settled requests still in the backlog; read by
  // ConnectionPool.drained() and stats()): a command aborted while it waits in the backlog still counts as queued
  // and pending, so disconnect() waits out the whole drain deadline for it.
  it('a command aborted while queued is not pending work: stats drop it and disconnect() does not wait for it', async () => {
    name = uniqueName('aborted-queued');
    server.freeze();
    pool = new ConnectionPool({
      host: server.host,
      port: server.port,
      clientName: name,
      connectTimeoutMs: 30_000,
    });
    const abort = new AbortController();
    const queued = handled(pool.execute('GET', [`${name}:k`], { signal: abort.signal }));
    abort.abort();
    await expect(queued).rejects.toThrow(/abort/i);
    const started = Date.now();
    const closing = pool.disconnect({ drainTimeoutMs: 3000 });
    expect(pool.stats()).toMatchObject({ queued: 0, pending: 0 });
    await closing;
    expect(Date.now() - started).toBeLessThan(1500);
    server.resume();
  });
});
