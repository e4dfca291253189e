import { RedisService } from '../../lib/client';
import { PoolExhaustedError } from '../../lib/errors/redis-pool.errors';
import { ConnectionPool } from '../../lib/pool/connection-pool';
import type { Connection } from '../../lib/connection/connection';
import { useRedisServer } from '../harness';
import {
  handled,
  nextTurn,
  serverConnectionsRunning,
  track,
  waitFor,
  watchSocketCount,
} from './bounds-checks';
import {
  expectNothingOpen,
  expectOwnReply,
  serverConnections,
  settleAll,
  uniqueName,
  watchUnhandledRejections,
} from './pool-checks';

describe('34: leases have a budget of their own', () => {
  const server = useRedisServer();
  watchUnhandledRejections();
  let pool: ConnectionPool;
  let name: string;

  afterEach(async () => {
    await expectNothingOpen(pool, server(), name);
  });

  it('ten blpop(q, 0) hold every lease of the default pool: get/set still answer, an 11th waits and fails at acquireTimeoutMs, a release goes to the oldest waiter', async () => {
    name = uniqueName('lease-budget');
    const ACQUIRE_MS = 1000;
    // Defaults apart from the acquire timeout: maxConnections 10, maxLeases = maxConnections.
    pool = new ConnectionPool({
      host: server().host,
      port: server().port,
      clientName: name,
      acquireTimeoutMs: ACQUIRE_MS,
    });
    const redis = new RedisService(pool);
    const sockets = watchSocketCount(pool);
    expect(pool.stats()).toMatchObject({ maxConnections: 10, maxLeases: 10 });

    const queues = Array.from({ length: 10 }, (_, i) => `${name}:q${i}`);
    const workers = queues.map((q) => redis.blpop(q, 0));
    // Checked at the end by settleAll; this only keeps a failing run from also reporting them as unhandled.
    for (const worker of workers) worker.catch(() => undefined);
    await waitFor('ten leases held', () => pool.stats().leased === 10);
    await waitFor(
      'ten BLPOPs blocked on the server',
      async () => (await serverConnectionsRunning(server(), name, 'blpop')) === 10,
    );
    expect(pool.stats()).toMatchObject({ leased: 10, maxLeases: 10, waiting: 0 });

    // The shared path is never starved by the leases: it opens its own connection and answers at once (a pool
    // whose leases drew on maxConnections would queue these until commandTimeoutMs, 10 s).
    const sharedStarted = Date.now();
    const [set, get] = await settleAll(
      [redis.set(`${name}:k`, 'v1'), redis.get(`${name}:k`)],
      5000,
    );
    expect(set).toEqual({ status: 'fulfilled', value: 'OK' });
    expect(get).toEqual({ status: 'fulfilled', value: 'v1' });
    expect(Date.now() - sharedStarted).toBeLessThan(3000);
    await expectOwnReply(pool);

    // An 11th blocking call and a getConnection wait for a lease, then fail typed at acquireTimeoutMs.
    const waitStarted = Date.now();
    const eleventh = handled(redis.blpop(`${name}:q10`, 0));
    const lease = handled(pool.getConnection());
    expect(pool.stats()).toMatchObject({ leased: 10, waiting: 2 });
    // Meanwhile the shared path still answers.
    await expect(redis.get(`${name}:k`)).resolves.toBe('v1');
    const [eleventhResult, leaseResult] = await settleAll<unknown>(
      [eleventh, lease],
      ACQUIRE_MS + 5000,
    );
    const waited = Date.now() - waitStarted;
    expect(eleventhResult.status).toBe('rejected');
    expect((eleventhResult as PromiseRejectedResult).reason).toBeInstanceOf(PoolExhaustedError);
    expect((eleventhResult as PromiseRejectedResult).reason.message).toMatch(
      /10 of 10 leases held/,
    );
    expect(leaseResult.status).toBe('rejected');
    expect((leaseResult as PromiseRejectedResult).reason).toBeInstanceOf(PoolExhaustedError);
    expect(waited).toBeGreaterThanOrEqual(ACQUIRE_MS - 50);
    expect(waited).toBeLessThan(ACQUIRE_MS + 4000);
    expect(pool.stats()).toMatchObject({ leased: 10, waiting: 0 });

    // A release (LPUSH wakes one worker, whose lease comes back clean) goes to the oldest waiter.
    const first = track(pool.getConnection());
    const second = track(pool.getConnection());
    expect(pool.stats().waiting).toBe(2);
    const before = pool.stats().total;
    await expect(redis.lpush(queues[0], 'job-0')).resolves.toBe(1);
    await expect(workers[0]).resolves.toEqual({ key: queues[0], element: 'job-0' });
    const firstLease = await first.promise;
    expect(second.settled).toBe(false);
    // Handed over, not a new socket.
    expect(pool.stats()).toMatchObject({ leased: 10, waiting: 1, total: before });
    await expect(firstLease.executeCommand('PING')).resolves.toBe('PONG');
    pool.release(firstLease);
    const secondLease: Connection = await second.promise;
    expect(secondLease).toBe(firstLease);
    pool.release(secondLease);
    await waitFor('the lease came back', () => pool.stats().leased === 9);

    // Shared load that needs growth (values of 64 KiB or more count as a deep pipeline), while nine leases are
    // still held: the shared connections grow beside the leases, and sockets never exceed
    // maxConnections + maxLeases.
    const big = 'x'.repeat(256 * 1024);
    const writes: Array<Promise<unknown>> = [];
    let maxShared = 0;
    const growUntil = Date.now() + 15_000;
    for (let i = 0; pool.stats().total < 19 && Date.now() < growUntil; i++) {
      writes.push(redis.set(`${name}:big${i % 20}`, big));
      sockets.sample();
      maxShared = Math.max(maxShared, pool.stats().total - pool.stats().leased);
      await nextTurn();
    }
    // Nine leases plus all ten shared connections: the leases did not count against maxConnections.
    expect(pool.stats()).toMatchObject({ total: 19, leased: 9 });
    for (let i = 0; i < 50; i++) {
      writes.push(redis.set(`${name}:big${i % 20}`, big));
      maxShared = Math.max(maxShared, pool.stats().total - pool.stats().leased);
      await nextTurn();
    }
    const written = await settleAll(writes, 30_000);
    expect(written.every((r) => r.status === 'fulfilled' && r.value === 'OK')).toBe(true);
    expect(maxShared).toBe(10);
    expect(await serverConnections(server(), name)).toBeLessThanOrEqual(20);
    expect(sockets.max()).toBeLessThanOrEqual(20);

    // Every worker gets its own element; every promise settles.
    for (let i = 1; i < 10; i++) await redis.lpush(queues[i], `job-${i}`);
    const results = await settleAll(workers, 5000);
    results.forEach((result, i) =>
      expect(result).toEqual({
        status: 'fulfilled',
        value: { key: queues[i], element: `job-${i}` },
      }),
    );
    await waitFor('every lease came back', () => pool.stats().leased === 0);
    await expectOwnReply(pool);
    expect(sockets.max()).toBeLessThanOrEqual(20);
  });

  it('maxLeases set apart from maxConnections bounds leases only: the shared path keeps its own connections', async () => {
    name = uniqueName('lease-budget-small');
    pool = new ConnectionPool({
      host: server().host,
      port: server().port,
      clientName: name,
      maxConnections: 1,
      maxLeases: 2,
      acquireTimeoutMs: 300,
      idleTimeoutMs: 400,
    });
    const sockets = watchSocketCount(pool);
    expect(pool.stats()).toMatchObject({ maxConnections: 1, maxLeases: 2 });
    const a = await pool.getConnection();
    const b = await pool.getConnection();
    expect(pool.stats()).toMatchObject({ leased: 2 });
    await expect(pool.getConnection()).rejects.toBeInstanceOf(PoolExhaustedError);
    // One shared connection of its own, beside the two leases.
    await expectOwnReply(pool);
    expect(pool.stats()).toMatchObject({ total: 3, leased: 2 });
    expect(await serverConnections(server(), name)).toBe(3);
    pool.release(a);
    pool.release(b);
    await waitFor('leases back', () => pool.stats().leased === 0);
    // The shared set is full, so the released leases are kept spare, within maxLeases, for the next lease.
    expect(pool.stats()).toMatchObject({ total: 3, leased: 0 });
    const again = await pool.getConnection();
    expect([a.id, b.id]).toContain(again.id);
    pool.release(again);
    // Spares idle longer than idleTimeoutMs retire; the shared path keeps what it needs.
    await waitFor('spares retired', () => pool.stats().total <= 1);
    await expectOwnReply(pool);
    expect(sockets.max()).toBeLessThanOrEqual(3);
  });
});
