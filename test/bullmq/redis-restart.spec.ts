import { Queue, Worker } from 'bullmq';
import { BullMqClient } from '../../lib/bullmq';
import { RedisService } from '../../lib/client/redis.service';
import { ConnectionPool } from '../../lib/pool/connection-pool';
import { useRedisServer } from '../harness';
import { Closer, eventually, queueName, sleep, Tally } from './bullmq-helpers';

const JOBS = 1500;

/**
 * Redis SIGKILLed and restarted (an AOF with fsync on every write, so it comes back with what it acknowledged)
 * while 3 Workers run: every job completes, and only jobs that were in flight at the crash may run twice, which
 * is BullMQ's at-least-once contract.
 */
describe('SIGKILL and restart of Redis mid-run', () => {
  const server = useRedisServer({ extraConfig: ['appendonly yes', 'appendfsync always'] });
  const closer = new Closer();
  let pool: ConnectionPool;

  afterEach(async () => {
    await closer.closeAll();
    await pool.disconnect();
  });

  it('loses no job and repeats only jobs in flight at the crash', async () => {
    pool = new ConnectionPool({
      host: server().host,
      port: server().port,
      maxConnections: 2,
      maxLeases: 8,
    });
    const connection = new BullMqClient(new RedisService(pool));
    const name = queueName('restart');
    const queue = closer.add(new Queue(name, { connection }));
    await queue.addBulk(Array.from({ length: JOBS }, (_, i) => ({ name: 'j', data: { i } })));

    const tally = new Tally();
    const inFlight = new Set<string>();
    let crashed = false;
    const inFlightAtCrash = new Set<string>();
    const startedWhileDown: string[] = [];
    const workers = [0, 1, 2].map(() =>
      closer.add(
        new Worker(
          name,
          async (job) => {
            if (crashed && !server().running) startedWhileDown.push(job.id!);
            tally.hit(job.id!);
            inFlight.add(job.id!);
            await sleep(2);
            return job.data.i;
          },
          {
            connection,
            concurrency: 10,
            runRetryDelay: 200,
            stalledInterval: 1000,
            lockDuration: 3000,
            maxStalledCount: 10,
          },
        ),
      ),
    );
    const errors: Error[] = [];
    for (const worker of workers) {
      worker.on('completed', (job) => inFlight.delete(job.id!));
      worker.on('error', (error) => errors.push(error));
    }

    await eventually(() => tally.size >= JOBS / 5, 'a fifth of the jobs');
    await server().kill();
    crashed = true;
    for (const id of inFlight) inFlightAtCrash.add(id);
    await sleep(800);
    await server().start();

    await eventually(
      async () => (await queue.getJobCounts('completed')).completed === JOBS,
      'every job to complete after the restart',
      25_000,
    );
    const counts = await queue.getJobCounts('completed', 'failed', 'active', 'wait', 'delayed');
    expect(counts).toEqual({ completed: JOBS, failed: 0, active: 0, wait: 0, delayed: 0 });
    expect(tally.size).toBe(JOBS);
    expect(startedWhileDown).toEqual([]);
    const repeated = tally.repeated();
    expect(repeated.filter((id) => !inFlightAtCrash.has(id))).toEqual([]);
    expect(repeated.length).toBeLessThanOrEqual(30);
    // Each Worker is back on a lease of its own.
    await eventually(() => pool.stats().leased === 3, 'three leases again');
  });
});
