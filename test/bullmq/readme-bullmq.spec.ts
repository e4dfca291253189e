// The README's @nestjs/bullmq example, run as a test (test/readme.spec.ts keeps them equal).
import { BullModule, InjectQueue, Processor, WorkerHost } from '@nestjs/bullmq';
import { Injectable, Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { Job, Queue, QueueEvents } from 'bullmq';
import { BullMqClient } from '../../lib/bullmq';
import { RedisService } from '../../lib/client/redis.service';
import { ConnectionPool } from '../../lib/pool/connection-pool';
import { RedisPoolModule } from '../../lib/nest/redis-pool.module';
import { useRedisServer } from '../harness';
import { LogCapture } from '../nest/nest-helpers';
import { clientNames, eventually } from './bullmq-helpers';

describe('README BullMQ example: @nestjs/bullmq on the app pool', () => {
  const server = useRedisServer();

  it('processes jobs with a @Processor, on leases of the one pool, and closes cleanly', async () => {
    process.env.REDIS_URL = server().url;
    // --- README bullmq start ---
    @Processor('mail', { concurrency: 5 })
    class MailProcessor extends WorkerHost {
      async process(job: Job<{ to: string }>): Promise<string> {
        return `sent to ${job.data.to}`;
      }
    }

    @Injectable()
    class MailService {
      constructor(@InjectQueue('mail') private readonly queue: Queue) {}

      send(to: string): Promise<Job> {
        return this.queue.add('welcome', { to }, { attempts: 3, backoff: 1000 });
      }
    }

    @Module({
      imports: [
        RedisPoolModule.forRoot({ url: process.env.REDIS_URL, maxLeases: 20 }),
        BullModule.forRootAsync({
          inject: [RedisService],
          useFactory: (redis: RedisService) => ({ connection: new BullMqClient(redis) }),
        }),
        BullModule.registerQueue({ name: 'mail' }),
      ],
      providers: [MailProcessor, MailService],
    })
    class AppModule {}
    // --- README bullmq end ---

    const logs = new LogCapture();
    const moduleRef = await Test.createTestingModule({ imports: [AppModule] })
      .setLogger(logs)
      .compile();
    const app = moduleRef.createNestApplication({ logger: logs });
    await app.init();
    const pool = app.get(ConnectionPool);
    const events = new QueueEvents('mail', { connection: new BullMqClient(app.get(RedisService)) });
    try {
      await events.waitUntilReady();
      const mail = app.get(MailService);
      const jobs = await Promise.all(
        ['ada@example.com', 'alan@example.com'].map((to) => mail.send(to)),
      );
      const results = await Promise.all(jobs.map((job) => job.waitUntilFinished(events, 10_000)));
      expect(results).toEqual(['sent to ada@example.com', 'sent to alan@example.com']);
      // The Worker's blocking connection and the QueueEvents' are leases of the app's pool, named by BullMQ.
      await eventually(() => pool.stats().leased === 2, 'the two leases');
      const names = await clientNames(server());
      expect(names.filter((n) => n.startsWith('bull:'))).toHaveLength(2);
    } finally {
      await events.close();
      await app.close();
    }
    expect(pool.closed).toBe(true);
    expect(await server().clientList()).toEqual([]);
    expect(logs.entries.filter((entry) => entry.level === 'error')).toEqual([]);
  });
});
