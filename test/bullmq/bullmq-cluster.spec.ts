import { BullModule, InjectQueue, Processor, WorkerHost } from '@nestjs/bullmq';
import { Injectable, Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { FlowProducer, Queue, QueueEvents, Worker, type Job } from 'bullmq';
import { BullMqClient } from '../../lib/bullmq';
import { RedisService } from '../../lib/client/redis.service';
import { ClusterPool } from '../../lib/cluster/cluster-pool';
import { keySlot } from '../../lib/cluster/hash-slot';
import { ClusterError } from '../../lib/errors/redis-pool.errors';
import { RedisPoolModule } from '../../lib/nest/redis-pool.module';
import { useRedisCluster } from '../harness';
import { Closer, eventually, queueName, Tally } from './bullmq-helpers';

/** BullMQ on a ClusterPool: every queue under a `{hash tag}` prefix, blocking leases on the tag's master. */
describe('BullMqClient on a ClusterPool', () => {
  const cluster = useRedisCluster({ replicasPerMaster: 0 });
  const closer = new Closer();
  let pool: ClusterPool;
  let connection: BullMqClient;

  beforeAll(() => {
    pool = new ClusterPool({ nodes: cluster().seeds(), maxConnections: 2, maxLeases: 8 });
    connection = new BullMqClient(new RedisService(pool));
  });
  afterEach(() => closer.closeAll());
  afterAll(() => pool.disconnect());

  it('is a cluster client with a client per master', async () => {
    expect(connection.isCluster).toBe(true);
    expect(connection.options).toEqual({
      maxRetriesPerRequest: null,
      redisOptions: { maxRetriesPerRequest: null },
    });
    await eventually(() => connection.nodes().length === 3, 'the masters');
    const lists = await Promise.all(connection.nodes().map((node) => node.clientList()));
    expect(new Set(lists.map((list) => list.split('\n')[0])).size).toBe(3);
  });

  it('runs queues of two hash tags (two masters) with Workers, QueueEvents and a flow', async () => {
    const tags = ['{bull}', '{jobs}'];
    expect(keySlot(tags[0])).not.toBe(keySlot(tags[1]));
    const tally = new Tally();
    const queues: Queue[] = [];
    const completed: string[] = [];
    for (const prefix of tags) {
      const name = queueName('cq');
      const queue = closer.add(new Queue(name, { connection, prefix }));
      queues.push(queue);
      const events = closer.add(new QueueEvents(name, { connection, prefix }));
      await events.waitUntilReady();
      events.on('completed', ({ jobId }) => completed.push(`${prefix}${jobId}`));
      for (let w = 0; w < 2; w++) {
        const worker = closer.add(
          new Worker(name, async (job) => tally.hit(`${prefix}${job.id}`), {
            connection,
            prefix,
            concurrency: 10,
            name: `cw${w}`,
          }),
        );
        await worker.waitUntilReady();
      }
      await queue.addBulk(Array.from({ length: 200 }, (_, i) => ({ name: 'j', data: { i } })));
    }
    await eventually(() => tally.size === 400, 'every job');
    expect(tally.repeated()).toEqual([]);
    await eventually(() => completed.length === 400, 'a completed event per job');
    for (const queue of queues) {
      expect(await queue.getJobCounts('completed', 'failed')).toEqual({
        completed: 200,
        failed: 0,
      });
      // getWorkers() lists the Workers' named leases through nodes().
      expect(await queue.getWorkersCount()).toBe(2);
    }
    expect(pool.stats().leased).toBe(6);
    // Idle, each Worker blocks on a lease on the master serving its queue's tag.
    const expected = new Map<number, number>();
    for (const tag of tags) {
      const owner = await cluster().ownerOf(keySlot(tag));
      expected.set(owner.port, (expected.get(owner.port) ?? 0) + 2);
    }
    for (const master of await cluster().masters()) {
      await eventually(
        async () =>
          (await master.clientList()).filter((c) => c.cmd === 'bzpopmin').length ===
          (expected.get(master.port) ?? 0),
        `the Workers blocked on master ${master.port}`,
      );
    }

    const flow = closer.add(new FlowProducer({ connection, prefix: '{bull}' }));
    const parentName = queues[0].name;
    const tree = await flow.add({
      name: 'parent',
      queueName: parentName,
      children: [1, 2].map((n) => ({ name: `child-${n}`, queueName: parentName, data: { n } })),
    });
    await eventually(
      async () => (await queues[0].getJobState(tree.job.id!)) === 'completed',
      'the flow',
    );
  });

  it('a Nest app on forRoot({ cluster }) with the prefix given once in forRootAsync', async () => {
    const done: string[] = [];
    @Processor('tagged')
    class TaggedProcessor extends WorkerHost {
      async process(job: Job<{ n: number }>): Promise<number> {
        done.push(job.id!);
        return job.data.n;
      }
    }
    @Injectable()
    class Producer {
      constructor(@InjectQueue('tagged') readonly queue: Queue) {}
    }
    @Module({
      imports: [
        RedisPoolModule.forRoot({ cluster: { nodes: cluster().seeds() }, maxLeases: 4 }),
        BullModule.forRootAsync({
          inject: [RedisService],
          useFactory: (redis: RedisService) => ({
            connection: new BullMqClient(redis),
            prefix: '{bull}',
          }),
        }),
        BullModule.registerQueue({ name: 'tagged' }),
      ],
      providers: [TaggedProcessor, Producer],
    })
    class ClusterAppModule {}
    const moduleRef = await Test.createTestingModule({ imports: [ClusterAppModule] }).compile();
    const app = moduleRef.createNestApplication({ logger: false });
    await app.init();
    try {
      const { queue } = app.get(Producer);
      expect(queue.opts.prefix).toBe('{bull}');
      await queue.addBulk(Array.from({ length: 50 }, (_, n) => ({ name: 'j', data: { n } })));
      await eventually(() => done.length === 50, 'the Nest processor');
      expect(await queue.getJobCounts('completed')).toEqual({ completed: 50 });
    } finally {
      await app.close();
    }
  });

  it('refuses a queue without a hash tag before sending (its keys span slots)', async () => {
    const queue = closer.add(new Queue(queueName('untagged'), { connection }));
    await expect(queue.add('x', {})).rejects.toBeInstanceOf(ClusterError);
  });
});
