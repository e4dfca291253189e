import { InjectQueue } from '@nestjs/bullmq';
import { Controller, Get, NotFoundException, Param, Query } from '@nestjs/common';
import type { Queue } from 'bullmq';
import { WELCOME_QUEUE, type WelcomeJob } from './welcome.processor';

@Controller('jobs')
export class JobsController {
  constructor(@InjectQueue(WELCOME_QUEUE) private readonly queue: Queue<WelcomeJob>) {}

  /** Queues a welcome message: `/jobs/welcome?to=ada@example.com`; answers with the job's id at once. */
  @Get('welcome')
  async welcome(@Query('to') to = 'you@example.com'): Promise<{ id: string | undefined }> {
    const job = await this.queue.add('welcome', { to }, { attempts: 3, backoff: 1000 });
    return { id: job.id };
  }

  /** A job's state and, once it ran, its result: `/jobs/1`. */
  @Get(':id')
  async status(@Param('id') id: string): Promise<{ id: string; state: string; result: unknown }> {
    // The state first: a job read before it completed would show no result next to a later 'completed'.
    const state = await this.queue.getJobState(id);
    const job = await this.queue.getJob(id);
    if (job === undefined || state === 'unknown') throw new NotFoundException(`No job ${id}`);
    return { id, state, result: job.returnvalue ?? null };
  }
}
