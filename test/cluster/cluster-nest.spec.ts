import { Controller, Get, Module, Post } from '@nestjs/common';
import { HealthCheck, HealthCheckService, type HealthCheckResult } from '@nestjs/terminus';
import request from 'supertest';
import { RedisService } from '../../lib/client/redis.service';
import { ClusterPool } from '../../lib/cluster/cluster-pool';
import { RedisHealthIndicator } from '../../lib/health/redis.health';
import { RedisHealthModule } from '../../lib/health/redis-health.module';
import { InjectRedis } from '../../lib/nest/redis.decorators';
import { RedisPoolModule } from '../../lib/nest/redis-pool.module';
import { useRedisCluster } from '../harness';
import { bootApp, closeApps } from '../nest/nest-helpers';

@Controller()
class VisitsController {
  constructor(
    @InjectRedis() private readonly redis: RedisService,
    private readonly health: HealthCheckService,
    private readonly indicator: RedisHealthIndicator,
  ) {}

  @Post('visits')
  async visit(): Promise<{ visits: number; tagged: string | null }> {
    const visits = await this.redis.incr('visits');
    await this.redis.mset({ '{page:home}visits': String(visits), '{page:home}at': 'now' });
    return { visits, tagged: await this.redis.get('{page:home}visits') };
  }

  @Get('health')
  @HealthCheck()
  check(): Promise<HealthCheckResult> {
    return this.health.check([() => this.indicator.isHealthy('redis', { timeoutMs: 500 })]);
  }
}

@Module({ imports: [RedisHealthModule], controllers: [VisitsController] })
class VisitsModule {}

describe('RedisPoolModule in cluster mode', () => {
  const cluster = useRedisCluster();
  afterEach(async () => {
    for (const node of cluster().nodes) if (node.frozen) node.resume();
    await closeApps();
  });

  const boot = () =>
    bootApp({
      imports: [
        RedisPoolModule.forRoot({
          cluster: { nodes: cluster().seeds().slice(0, 2) },
          maxConnections: 4,
          startup: 'wait',
        }),
        VisitsModule,
      ],
    });

  it('injects a RedisService over a ClusterPool, and the health endpoint reports the cluster', async () => {
    const { app } = await boot();
    expect(app.get(ClusterPool)).toBeInstanceOf(ClusterPool);
    const first = await request(app.getHttpServer()).post('/visits');
    const second = await request(app.getHttpServer()).post('/visits');
    expect(second.body.visits).toBe(first.body.visits + 1);
    expect(second.body.tagged).toBe(String(second.body.visits));
    const health = await request(app.getHttpServer()).get('/health');
    expect(health.status).toBe(200);
    const redis = health.body.info.redis;
    expect(redis.status).toBe('up');
    expect(redis.cluster_state).toBe('ok');
    expect(redis.nodes).toHaveLength(6);
    expect(redis.nodes.every((node: { up: boolean }) => node.up)).toBe(true);
  });

  it('reports down within its timeout when a master is frozen, and up again after', async () => {
    const { app } = await boot();
    await request(app.getHttpServer()).get('/health').expect(200);
    const master = (await cluster().masters())[0];
    master.freeze();
    const started = Date.now();
    const down = await request(app.getHttpServer()).get('/health');
    expect(Date.now() - started).toBeLessThan(1500);
    expect(down.status).toBe(503);
    expect(down.body.error.redis.status).toBe('down');
    expect(down.body.error.redis.message).toMatch(new RegExp(`unreachable|no reply|cluster_state`));
    master.resume();
    await request(app.getHttpServer()).get('/health').expect(200);
  });

  it('closes every node connection on app.close()', async () => {
    const { app } = await boot();
    await request(app.getHttpServer()).post('/visits').expect(201);
    const pool = app.get(ClusterPool);
    await app.close();
    expect(pool.closed).toBe(true);
    expect(pool.stats().total).toBe(0);
  });
});
