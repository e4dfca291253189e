import { FlowProducer, Queue, QueueEvents, Worker, type Job } from 'bullmq';
import { BullMqClient } from '../../lib/bullmq';
import { RedisService } from '../../lib/client/redis.service';
import { ConnectionPool } from '../../lib/pool/connection-pool';
import { useRedisServer } from '../harness';
import { Closer, eventually, queueName } from './bullmq-helpers';

/** BullMQ's features, each on the same pool through one `BullMqClient`. */
describe('BullMQ features on BullMqClient', () => {
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
  afterEach(async () => {
    await closer.closeAll();
    expect(pool.stats().leased).toBe(0);
  });
  afterAll(() => pool.disconnect());

  function worker(name: string, process: (job: Job) => Promise<unknown>, opts = {}): Worker {
    return closer.add(new Worker(name, process, { connection, ...opts }));
  }

  it('runs a delayed job after its delay, not before', async () => {
    const name = queueName('delayed');
    const queue = closer.add(new Queue(name, { connection }));
    const ran: number[] = [];
    worker(name, async () => {
      ran.push(Date.now());
    });
    const added = Date.now();
    const job = await queue.add('later', {}, { delay: 800 });
    expect(await job.getState()).toBe('delayed');
    await eventually(() => ran.length === 1, 'the delayed job');
    expect(ran[0] - added).toBeGreaterThanOrEqual(790);
    // The processor ran; the completion is written right after it.
    await eventually(async () => (await queue.getJobState(job.id!)) === 'completed', 'completed');
  });

  it('repeats a job scheduler every interval until removed', async () => {
    const name = queueName('scheduler');
    const queue = closer.add(new Queue(name, { connection }));
    const runs: Array<{ at: number; data: unknown }> = [];
    worker(name, async (job) => {
      runs.push({ at: Date.now(), data: job.data });
    });
    await queue.upsertJobScheduler(
      'tick',
      { every: 150 },
      { name: 'tick', data: { kind: 'tick' } },
    );
    await eventually(() => runs.length >= 3, 'three iterations');
    expect(runs.every((run) => (run.data as { kind: string }).kind === 'tick')).toBe(true);
    expect(runs[2].at - runs[0].at).toBeGreaterThanOrEqual(250);
    expect(await queue.getJobSchedulersCount()).toBe(1);
    expect(await queue.removeJobScheduler('tick')).toBe(true);
    expect(await queue.getJobSchedulersCount()).toBe(0);
  });

  it('retries a failing job with exponential backoff, then completes it', async () => {
    const name = queueName('retry');
    const queue = closer.add(new Queue(name, { connection }));
    const attempts: number[] = [];
    worker(name, async (job) => {
      attempts.push(Date.now());
      if (job.attemptsMade < 2) throw new Error(`attempt ${job.attemptsMade + 1} fails`);
      return 'third time lucky';
    });
    const job = await queue.add(
      'flaky',
      {},
      { attempts: 3, backoff: { type: 'exponential', delay: 100 } },
    );
    await eventually(async () => (await queue.getJobState(job.id!)) === 'completed', 'the retries');
    expect(attempts).toHaveLength(3);
    expect(attempts[1] - attempts[0]).toBeGreaterThanOrEqual(90);
    expect(attempts[2] - attempts[1]).toBeGreaterThanOrEqual(190);
    const done = await queue.getJob(job.id!);
    expect(done?.attemptsMade).toBe(3);
    expect(done?.returnvalue).toBe('third time lucky');
    expect(done?.stacktrace).toHaveLength(2);
  });

  it('gives up after the last attempt and keeps the failure', async () => {
    const name = queueName('fail');
    const queue = closer.add(new Queue(name, { connection }));
    worker(name, async () => {
      throw new Error('always');
    });
    const job = await queue.add(
      'doomed',
      {},
      { attempts: 2, backoff: { type: 'fixed', delay: 50 } },
    );
    await eventually(async () => (await queue.getJobState(job.id!)) === 'failed', 'the failure');
    const failed = await queue.getJob(job.id!);
    expect(failed?.failedReason).toBe('always');
    expect(failed?.attemptsMade).toBe(2);
  });

  it('rate-limits a queue: at most 4 jobs per 400 ms window', async () => {
    const name = queueName('limited');
    const queue = closer.add(new Queue(name, { connection }));
    const starts: number[] = [];
    worker(
      name,
      async () => {
        starts.push(Date.now());
      },
      { concurrency: 10, limiter: { max: 4, duration: 400 } },
    );
    await queue.addBulk(Array.from({ length: 12 }, (_, i) => ({ name: 'r', data: { i } })));
    await eventually(() => starts.length === 12, 'every limited job', 15_000);
    // 12 jobs at 4 per window need at least 3 windows: two full waits.
    expect(starts[11] - starts[0]).toBeGreaterThanOrEqual(750);
    for (let i = 4; i < starts.length; i++) {
      expect(starts[i] - starts[i - 4]).toBeGreaterThanOrEqual(350);
    }
  });

  it('QueueEvents hears completed (with the return value) and failed events', async () => {
    const name = queueName('events');
    const queue = closer.add(new Queue(name, { connection }));
    const events = closer.add(new QueueEvents(name, { connection }));
    await events.waitUntilReady();
    const completed = new Map<string, string>();
    const failed: string[] = [];
    events.on('completed', ({ jobId, returnvalue }) => completed.set(jobId, String(returnvalue)));
    events.on('failed', ({ jobId }) => failed.push(jobId));
    worker(name, async (job) => {
      if (job.data.bad) throw new Error('bad');
      return `done-${job.data.i}`;
    });
    const jobs = await queue.addBulk([
      ...Array.from({ length: 20 }, (_, i) => ({ name: 'ok', data: { i } })),
      { name: 'bad', data: { bad: true } },
    ]);
    await eventually(() => completed.size === 20 && failed.length === 1, 'the events');
    expect(completed.get(jobs[7].id!)).toBe('done-7');
    expect(failed).toEqual([jobs[20].id]);
    const job = await queue.add('awaited', { i: 99 });
    expect(await job.waitUntilFinished(events, 5000)).toBe('done-99');
  });

  it('FlowProducer: the parent runs after its children, with their values', async () => {
    const parents = queueName('parents');
    const children = queueName('children');
    const flow = closer.add(new FlowProducer({ connection }));
    const order: string[] = [];
    worker(children, async (job) => {
      order.push(job.name);
      return job.data.n * 10;
    });
    let values: Record<string, unknown> = {};
    worker(parents, async (job) => {
      order.push(job.name);
      values = await job.getChildrenValues();
      return 'parent done';
    });
    const tree = await flow.add({
      name: 'parent',
      queueName: parents,
      children: [1, 2, 3].map((n) => ({ name: `child-${n}`, queueName: children, data: { n } })),
    });
    expect(tree.children).toHaveLength(3);
    await eventually(() => order.includes('parent'), 'the parent');
    expect(order.indexOf('parent')).toBe(3);
    const parentQueue = closer.add(new Queue(parents, { connection }));
    await eventually(
      async () => (await parentQueue.getJobState(tree.job.id!)) === 'completed',
      'the parent completed',
    );
    // Read once the parent completed: its processor sets `values` after an await, past the `order` push.
    expect(Object.values(values).sort()).toEqual([10, 20, 30]);
  });
});
