import { Queue, Worker } from 'bullmq';
import { BullMqClient } from '../../lib/bullmq';
import { RedisService } from '../../lib/client/redis.service';
import { PoolExhaustedError } from '../../lib/errors/redis-pool.errors';
import { ConnectionPool } from '../../lib/pool/connection-pool';
import { useRedisServer } from '../harness';
import { Closer, eventually, queueName, sleep } from './bullmq-helpers';

/** Idle Workers block on leases of their own; the shared path never waits behind them. */
describe('blocked Workers and the shared path', () => {
  const server = useRedisServer();
  const closer = new Closer();
  let pool: ConnectionPool;
  afterEach(async () => {
    await closer.closeAll();
    await pool.disconnect();
  });

  async function blockedOnServer(): Promise<number> {
    return (await server().clientList()).filter((client) => client.cmd === 'bzpopmin').length;
  }

  it('keeps GET fast on one shared connection while 10 Workers idle on BZPOPMIN', async () => {
    pool = new ConnectionPool({
      host: server().host,
      port: server().port,
      maxConnections: 1,
      maxLeases: 12,
    });
    const redis = new RedisService(pool);
    const connection = new BullMqClient(redis);
    const name = queueName('idle');
    for (let i = 0; i < 10; i++) {
      // drainDelay 5 s: each idle Worker sits in one BZPOPMIN for 5 s at a time.
      const worker = closer.add(
        new Worker(name, async () => 'ok', { connection, drainDelay: 5, concurrency: 5 }),
      );
      await worker.waitUntilReady();
    }
    await eventually(async () => (await blockedOnServer()) === 10, '10 Workers blocked');
    await redis.set('k', 'v');
    const latencies: number[] = [];
    for (let i = 0; i < 200; i++) {
      const started = performance.now();
      expect(await redis.get('k')).toBe('v');
      latencies.push(performance.now() - started);
    }
    latencies.sort((a, b) => a - b);
    // Behind a BZPOPMIN a GET would wait seconds; on its own connection it takes about a round trip. The bound is
    // loose for a loaded machine, and far below the 5 s block.
    expect(latencies[latencies.length - 1]).toBeLessThan(1000);
    expect(latencies[100]).toBeLessThan(100);
    expect(await blockedOnServer()).toBe(10);
    const stats = pool.stats();
    expect(stats.leased).toBe(10);
    expect(stats.total - stats.leased).toBe(1);
    // A job still reaches an idle Worker at once: the marker wakes a BZPOPMIN.
    const queue = closer.add(new Queue(name, { connection }));
    const job = await queue.add('wake', {});
    const started = Date.now();
    await eventually(async () => (await job.getState()) === 'completed', 'the job');
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it('a Worker beyond the lease budget waits for a lease, never on a shared connection', async () => {
    pool = new ConnectionPool({
      host: server().host,
      port: server().port,
      maxConnections: 1,
      maxLeases: 2,
      acquireTimeoutMs: 300,
    });
    const connection = new BullMqClient(new RedisService(pool));
    const name = queueName('budget');
    const errors: unknown[] = [];
    const done: string[] = [];
    const workers = [0, 1, 2].map((i) =>
      closer.add(
        new Worker(
          name,
          async (job) => {
            done.push(job.id!);
          },
          { connection, drainDelay: 5, name: `b${i}` },
        ),
      ),
    );
    for (const worker of workers) worker.on('error', (error) => errors.push(error));
    await eventually(async () => (await blockedOnServer()) === 2, 'two Workers blocked');
    await eventually(() => errors.length > 0, 'the third Worker to report the spent budget');
    expect(errors[0]).toBeInstanceOf(PoolExhaustedError);
    await sleep(100);
    const stats = pool.stats();
    expect(stats.leased).toBe(2);
    expect(stats.total).toBe(3); // one shared connection and the two leases
    expect(await blockedOnServer()).toBe(2);
    // The shared path still serves everyone, the third Worker included: jobs get done.
    const queue = closer.add(new Queue(name, { connection }));
    await queue.addBulk(Array.from({ length: 30 }, (_, i) => ({ name: 'j', data: { i } })));
    await eventually(() => done.length === 30, 'the jobs');
    // Once a lease is free, the waiting Worker takes it.
    const blocked = (await server().clientList()).filter((c) => c.cmd === 'bzpopmin');
    const holder = workers.find((w) => blocked.some((c) => c.name?.endsWith(`:w:${w.opts.name}`)));
    await holder!.close();
    await eventually(async () => (await blockedOnServer()) === 2, 'the waiting Worker to block');
    expect(pool.stats().leased).toBe(2);
  });
});
