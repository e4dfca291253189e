import { RedisService } from '../../lib/client/redis.service';
import { AbortError, ConnectionError, TimeoutError } from '../../lib/errors/redis-pool.errors';
import { ConnectionPool } from '../../lib/pool/connection-pool';
import type { PoolOptions } from '../../lib/pool/pool-options';
import { startRedisServer, type RedisServerHandle } from '../harness';
import {
  expectNothingOpen,
  expectOwnReply,
  settleAll,
  sleep,
  uniqueName,
  watchUnhandledRejections,
} from './pool-checks';

/** A turn of the event loop: commands issued after it leave in another write. */
const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

/**
 * Scenario 32 and 33: a command the caller was told did not run is never written afterwards, and a reply that
 * kills its connection is not fetched again in a loop.
 */
describe('at most once', () => {
  watchUnhandledRejections();
  let server: RedisServerHandle;
  let pool: ConnectionPool;
  let name: string;

  beforeEach(async () => {
    server = await startRedisServer();
  });

  afterEach(async () => {
    if (server.frozen) server.resume();
    await expectNothingOpen(pool, server, name);
    await server.dispose();
  });

  const open = (options: PoolOptions = {}) => {
    name = uniqueName('once');
    pool = new ConnectionPool({
      url: server.url,
      clientName: name,
      maxConnections: 1,
      connectTimeoutMs: 1000,
      ...options,
    });
    return pool;
  };

  it('a command timed out while its connection waits for drain is never written: INCR stays unrun', async () => {
    open({ commandTimeoutMs: 400 });
    await expectOwnReply(pool);
    server.freeze();
    // 8 MB on a frozen server fills the socket buffers: the connection waits for 'drain'.
    const big = pool.executeCommand('SET', 'once:big', Buffer.alloc(8 * 1024 * 1024, 1));
    const bigOutcome = big.catch((e: unknown) => e);
    await nextTurn();
    const incr = pool.executeCommand('INCR', 'once:counter').catch((e: unknown) => e);
    const error = await incr;
    expect(error).toBeInstanceOf(TimeoutError);
    expect((error as TimeoutError).commandMayHaveRun).toBe(false);
    server.resume();
    expect(await bigOutcome).toBeInstanceOf(Error);
    await sleep(300);
    expect(await server.cli('GET', 'once:counter')).toBe('');
    await expectOwnReply(pool);
  });

  it('an abort while the command waits for a connection withdraws it: AbortError, commandMayHaveRun false, never run', async () => {
    open();
    const redis = new RedisService(pool);
    const controller = new AbortController();
    // The pool has no connection yet: the INCR waits in the backlog while one opens.
    const incr = redis.withOptions({ signal: controller.signal }).incr('once:counter');
    controller.abort();
    const error = await incr.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AbortError);
    expect((error as AbortError).commandMayHaveRun).toBe(false);
    await expectOwnReply(pool);
    await sleep(100);
    expect(await server.cli('GET', 'once:counter')).toBe('');
  });

  it('an abort while the command waits in a congested outbox withdraws it', async () => {
    open({ commandTimeoutMs: 5000 });
    await expectOwnReply(pool);
    server.freeze();
    const big = pool
      .executeCommand('SET', 'once:big', Buffer.alloc(8 * 1024 * 1024, 1))
      .catch((e: unknown) => e);
    await nextTurn();
    const controller = new AbortController();
    const incr = pool
      .execute('INCR', ['once:counter'], { signal: controller.signal })
      .catch((e: unknown) => e);
    await sleep(50);
    controller.abort();
    const error = await incr;
    expect(error).toBeInstanceOf(AbortError);
    expect((error as AbortError).commandMayHaveRun).toBe(false);
    server.resume();
    expect(await big).toBe('OK');
    await expectOwnReply(pool);
    expect(await server.cli('GET', 'once:counter')).toBe('');
  });

  it('an abort after the command was written says commandMayHaveRun true, and the late reply reaches nobody', async () => {
    open();
    await expectOwnReply(pool);
    const controller = new AbortController();
    const sleeping = pool
      .execute('DEBUG', ['SLEEP', '0.3'], { signal: controller.signal })
      .catch((e: unknown) => e);
    await sleep(50);
    controller.abort();
    const error = await sleeping;
    expect(error).toBeInstanceOf(AbortError);
    expect((error as AbortError).commandMayHaveRun).toBe(true);
    // Issued after the abort, behind the sleeping command: each gets its own reply.
    await settleAll([expectOwnReply(pool), expectOwnReply(pool)], 5000);
  });

  it('an abort of a blocking command before it leaves withdraws it, and after it left discards its lease', async () => {
    open();
    const redis = new RedisService(pool);
    const early = new AbortController();
    early.abort();
    const before = await redis
      .withOptions({ signal: early.signal })
      .blpop('once:queue', 0)
      .catch((e: unknown) => e);
    expect(before).toBeInstanceOf(AbortError);
    const late = new AbortController();
    const blocked = redis
      .withOptions({ signal: late.signal })
      .blpop('once:queue', 0)
      .catch((e: unknown) => e);
    await sleep(100);
    late.abort();
    const error = await blocked;
    expect(error).toBeInstanceOf(AbortError);
    expect((error as AbortError).commandMayHaveRun).toBe(true);
    await sleep(50);
    // The blocked connection was discarded, so a value pushed now is not popped by anyone.
    await server.cli('RPUSH', 'once:queue', 'v');
    await sleep(50);
    expect(await server.cli('LLEN', 'once:queue')).toBe('1');
    expect(pool.stats().leased).toBe(0);
  });

  it('33: a reply over client-output-buffer-limit kills its connection once, is resent at most once, and others fail typed', async () => {
    open({ commandTimeoutMs: 10_000, retry: { attempts: 5, baseDelayMs: 10, maxDelayMs: 50 } });
    await pool.executeCommand('SET', 'once:huge', Buffer.alloc(4 * 1024 * 1024, 120));
    await server.cli('CONFIG', 'SET', 'client-output-buffer-limit', 'normal 1048576 0 0');
    const closes: unknown[] = [];
    pool.on('close', (_id: unknown, cause: unknown) => closes.push(cause));
    const huge = pool.executeCommand('GET', 'once:huge').catch((e: unknown) => e);
    const others = Array.from({ length: 20 }, (_, i) =>
      pool.executeCommand('INCR', `once:other:${i}`).catch((e: unknown) => e),
    );
    const error = await huge;
    expect(error).toBeInstanceOf(ConnectionError);
    expect((error as ConnectionError).commandMayHaveRun).toBe(true);
    // The original send and one resend: two kills, not one per retry attempt.
    expect(closes.length).toBe(2);
    for (const outcome of await Promise.all(others)) {
      if (outcome instanceof Error) expect(outcome).toBeInstanceOf(ConnectionError);
      else expect(outcome).toBe(1);
    }
    await server.cli('CONFIG', 'SET', 'client-output-buffer-limit', 'normal 0 0 0');
    await expectOwnReply(pool);
  });
});
