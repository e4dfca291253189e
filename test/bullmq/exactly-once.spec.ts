import { Queue, QueueEvents, Worker } from 'bullmq';
import { BullMqClient } from '../../lib/bullmq';
import { RedisService } from '../../lib/client/redis.service';
import { ConnectionPool } from '../../lib/pool/connection-pool';
import { useRedisServer } from '../harness';
import { Closer, eventually, queueName, Tally } from './bullmq-helpers';

/** The 10 000 (bench/bullmq.mjs times the same with 3 × 50). */
const JOBS = 10_000;

describe('a Queue and 3 Workers (concurrency 10) on one pool', () => {
  const server = useRedisServer();
  const closer = new Closer();
  let pool: ConnectionPool;
  let connection: BullMqClient;

  beforeAll(() => {
    pool = new ConnectionPool({
      host: server().host,
      port: server().port,
      maxConnections: 2,
      maxLeases: 8,
    });
    connection = new BullMqClient(new RedisService(pool));
  });
  afterEach(() => closer.closeAll());
  afterAll(() => pool.disconnect());

  it(`processes ${JOBS} jobs exactly once each, on 2 shared connections and a lease per Worker`, async () => {
    const name = queueName('once');
    const queue = closer.add(new Queue(name, { connection }));
    const events = closer.add(new QueueEvents(name, { connection }));
    await events.waitUntilReady();
    let completedEvents = 0;
    events.on('completed', () => completedEvents++);
    const tally = new Tally();
    const byWorker = new Map<string, number>();
    for (let w = 0; w < 3; w++) {
      const worker = closer.add(
        new Worker(
          name,
          async (job) => {
            tally.hit(job.id!);
            byWorker.set(String(w), (byWorker.get(String(w)) ?? 0) + 1);
            return job.data.n * 2;
          },
          { connection, concurrency: 10, name: `w${w}` },
        ),
      );
      await worker.waitUntilReady();
    }
    for (let start = 0; start < JOBS; start += 1000) {
      await queue.addBulk(
        Array.from({ length: 1000 }, (_, i) => ({ name: 'job', data: { n: start + i } })),
      );
    }
    await eventually(
      async () => (await queue.getJobCounts('completed')).completed === JOBS,
      'every job to complete',
      45_000,
    );
    expect(tally.size).toBe(JOBS);
    expect(tally.repeated()).toEqual([]);
    const counts = await queue.getJobCounts('completed', 'failed', 'active', 'wait', 'delayed');
    expect(counts).toEqual({ completed: JOBS, failed: 0, active: 0, wait: 0, delayed: 0 });
    for (const share of byWorker.values()) expect(share).toBeGreaterThan(0);
    const [first] = await queue.getCompleted(0, 0);
    expect(first.returnvalue).toBe(first.data.n * 2);
    await eventually(() => completedEvents === JOBS, 'a completed event per job');
    // Three Workers and one QueueEvents hold four leases, named as BullMQ names them; every other command shared
    // the two multiplexed connections.
    expect(pool.stats().leased).toBe(4);
    const names = (await server().clientList()).map((client) => client.name ?? '');
    expect(names.filter((n) => /:w:w\d$/.test(n))).toHaveLength(3);
    expect(names.filter((n) => n.endsWith(':qe'))).toHaveLength(1);
  });
});
