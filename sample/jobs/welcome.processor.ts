import { OnWorkerEvent, Processor, WorkerHost } from '@nestjs/bullmq';
import { Logger } from '@nestjs/common';
import type { Job } from 'bullmq';
import { InjectRedis, RedisService } from '../../lib';

/** The queue of the sample: welcome messages, sent in the background. */
export const WELCOME_QUEUE = 'sample-welcome';

/** Counts the welcome messages sent (a side effect to check that each job ran once). */
export const SENT_KEY = 'sample:welcome:sent';

export interface WelcomeJob {
  to: string;
}

/** Runs welcome jobs, five at a time; its blocking wait for jobs is an exclusive lease of the default pool. */
@Processor(WELCOME_QUEUE, { concurrency: 5 })
export class WelcomeProcessor extends WorkerHost {
  constructor(@InjectRedis() private readonly redis: RedisService) {
    super();
  }

  private readonly logger = new Logger(WelcomeProcessor.name);

  /** A Worker without an `error` listener prints each error to the console; say it once, in the app's log. */
  @OnWorkerEvent('error')
  onError(error: Error): void {
    this.logger.warn(`Welcome worker: ${error.message}`);
  }

  async process(job: Job<WelcomeJob>): Promise<{ sentTo: string; sent: number }> {
    const sent = Number(await this.redis.incr(SENT_KEY));
    return { sentTo: job.data.to, sent };
  }
}
