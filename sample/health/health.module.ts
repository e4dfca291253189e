import { Module } from '@nestjs/common';
import { RedisHealthModule } from '../../lib/health';
import { HealthController } from './health.controller';

/** RedisHealthModule brings Terminus' HealthCheckService along with the indicator. */
@Module({ imports: [RedisHealthModule], controllers: [HealthController] })
export class HealthModule {}
