import { BullModule } from '@nestjs/bullmq';
import { Module } from '@nestjs/common';
import { RedisService } from '../../lib';
import { BullMqClient } from '../../lib/bullmq';
import { JobsController } from './jobs.controller';
import { WELCOME_QUEUE, WelcomeProcessor } from './welcome.processor';

/**
 * A BullMQ queue on the default pool: the queue's commands and scripts share its multiplexed connections, the
 * Worker's blocking wait is one lease of it. No ioredis anywhere.
 */
@Module({
  imports: [
    BullModule.forRootAsync({
      inject: [RedisService],
      useFactory: (redis: RedisService) => ({
        connection: new BullMqClient(redis),
        prefix: 'sample:bull',
      }),
    }),
    BullModule.registerQueue({ name: WELCOME_QUEUE }),
  ],
  controllers: [JobsController],
  providers: [WelcomeProcessor],
})
export class JobsModule {}
