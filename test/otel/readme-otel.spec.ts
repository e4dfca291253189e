// The README's observability examples, run as tests (test/readme.spec.ts keeps them equal).
import { tracingChannel } from 'node:diagnostics_channel';
import { Controller, Get, Module } from '@nestjs/common';
import { context, metrics, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  AggregationTemporality,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
} from '@opentelemetry/sdk-metrics';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { HealthCheck, HealthCheckService } from '@nestjs/terminus';
import request from 'supertest';
import type { CommandTraceContext } from '../../lib/observability/command-context';
import { RedisService } from '../../lib/client/redis.service';
import { RedisHealthIndicator } from '../../lib/health/redis.health';
import { RedisHealthModule } from '../../lib/health/redis-health.module';
import { InjectRedis } from '../../lib/nest/redis.decorators';
import { RedisPoolModule } from '../../lib/nest/redis-pool.module';
import { ConnectionPool } from '../../lib/pool/connection-pool';
import { instrumentRedisPools } from '../../lib/otel';
import { useRedisServer } from '../harness';
import { bootApp, closeApps } from '../nest/nest-helpers';

describe('README observability examples', () => {
  const server = useRedisServer();
  afterEach(closeApps);

  it('otel: the SDK set up in main.ts, one line for every pool, spans under the request span, probes', async () => {
    process.env.REDIS_URL = server().url;
    const spanExporter = new InMemorySpanExporter();
    const metricExporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
    const metricReader = new PeriodicExportingMetricReader({
      exporter: metricExporter,
      exportIntervalMillis: 60_000,
    });
    // --- README otel start ---
    // instrumentation.ts, imported first by main.ts (your exporters instead of the in-memory ones)
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    const tracerProvider = new BasicTracerProvider({
      spanProcessors: [new SimpleSpanProcessor(spanExporter)],
    });
    const meterProvider = new MeterProvider({ readers: [metricReader] });
    trace.setGlobalTracerProvider(tracerProvider);
    metrics.setGlobalMeterProvider(meterProvider);

    // The one line: spans and metrics for every pool of the process, whenever it is created.
    const stopRedisInstrumentation = instrumentRedisPools();

    // app.module.ts
    @Controller('cats')
    class CatsController {
      constructor(@InjectRedis() private readonly redis: RedisService) {}

      @Get()
      async count() {
        // An HTTP instrumentation opens this span for every request; the Redis spans are its children.
        return trace.getTracer('app').startActiveSpan('GET /cats', async (span) => {
          const views = await this.redis.incr('cats:views');
          span.end();
          return { views };
        });
      }
    }

    @Controller('health')
    class ProbesController {
      constructor(
        private readonly health: HealthCheckService,
        private readonly redis: RedisHealthIndicator,
      ) {}

      @Get('live') // livenessProbe: never touches Redis
      @HealthCheck()
      live() {
        return this.health.check([() => this.redis.isAlive('redis')]);
      }

      @Get('ready') // readinessProbe: PINGs Redis
      @HealthCheck()
      ready() {
        return this.health.check([() => this.redis.isHealthy('redis')]);
      }
    }

    @Module({
      imports: [RedisPoolModule.forRoot({ url: process.env.REDIS_URL }), RedisHealthModule],
      controllers: [CatsController, ProbesController],
    })
    class AppModule {}
    // --- README otel end ---

    try {
      const { app } = await bootApp({ imports: [AppModule] });
      await request(app.getHttpServer()).get('/cats').expect(200, { views: 1 });
      await request(app.getHttpServer()).get('/health/live').expect(200);
      await request(app.getHttpServer()).get('/health/ready').expect(200);
      const spans = spanExporter.getFinishedSpans();
      const handler = spans.find((s) => s.name === 'GET /cats')!;
      const incr = spans.find((s) => s.name === 'INCR')!;
      expect(incr.parentSpanContext?.spanId).toBe(handler.spanContext().spanId);
      expect(incr.attributes).toMatchObject({
        'db.system.name': 'redis',
        'db.query.text': 'INCR cats:views',
      });
      await metricReader.forceFlush();
      const names = metricExporter
        .getMetrics()
        .flatMap((m) => m.scopeMetrics.flatMap((s) => s.metrics.map((x) => x.descriptor.name)));
      expect(names).toEqual(
        expect.arrayContaining(['db.client.operation.duration', 'db.client.connection.count']),
      );
    } finally {
      stopRedisInstrumentation();
      await closeApps();
      await tracerProvider.shutdown();
      await meterProvider.shutdown();
      trace.disable();
      metrics.disable();
      context.disable();
    }
  });

  it('channels: subscribing without OpenTelemetry', async () => {
    const pool = new ConnectionPool({ url: server().url, name: 'orders' });
    const redis = new RedisService(pool);
    const seen: string[] = [];
    // --- README channels start ---
    const commands = tracingChannel<unknown, CommandTraceContext>('nestjs-redis-pool:command');
    const started = new WeakMap<CommandTraceContext, number>();
    const handlers = {
      start: (ctx: CommandTraceContext) => started.set(ctx, performance.now()),
      end: () => undefined,
      asyncStart: () => undefined,
      asyncEnd: (ctx: CommandTraceContext) => {
        const ms = performance.now() - (started.get(ctx) ?? 0);
        // e.g. "orders 127.0.0.1:6379/0 SET user:1 ? 0.4 ms": keys shown, values never
        seen.push(`${ctx.poolName} ${ctx.command} ${ctx.args.join(' ')} ${ms >= 0}`);
      },
      error: (ctx: CommandTraceContext) => console.warn(ctx.command, 'failed:', ctx.error),
    };
    commands.subscribe(handlers);
    await redis.set('user:1', 'secret value');
    commands.unsubscribe(handlers);
    // --- README channels end ---
    expect(seen).toEqual(['orders SET user:1 ? true']);
    await pool.disconnect();
  });
});
