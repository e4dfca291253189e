import { Controller, Get, Module } from '@nestjs/common';
import { trace } from '@opentelemetry/api';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import request from 'supertest';
import { InjectRedis } from '../../lib/nest/redis.decorators';
import { getRedisToken } from '../../lib/nest/redis.tokens';
import { commandChannel } from '../../lib/observability/channels';
import { RedisPoolModule } from '../../lib/nest/redis-pool.module';
import { RedisService } from '../../lib/client/redis.service';
import { useRedisServer } from '../harness';
import { bootApp, closeApp, closeApps } from '../nest/nest-helpers';
import { useOtel } from './otel-helpers';

@Controller('cats')
class CatsController {
  constructor(@InjectRedis() private readonly redis: RedisService) {}

  @Get()
  list(): Promise<{ count: number }> {
    // What an HTTP instrumentation does for every request: an active span around the handler.
    return trace.getTracer('http').startActiveSpan('GET /cats', async (span) => {
      try {
        await this.redis.incr('cats:views');
        const names = await this.redis.pipeline().get('cats:views').hgetall('cats').exec();
        return { count: Number(names[0]) };
      } finally {
        span.end();
      }
    });
  }
}

describe('nestjs-redis-pool/otel in a Nest app', () => {
  const server = useRedisServer();
  const otel = useOtel();
  afterEach(closeApps);

  it('makes the span a controller started the parent of its Redis spans, over real HTTP', async () => {
    trace.setGlobalTracerProvider(otel.state.tracerProvider);
    @Module({
      imports: [RedisPoolModule.forRoot({ url: server().url, name: 'default' })],
      controllers: [CatsController],
    })
    class AppModule {}
    const { app } = await bootApp({ imports: [AppModule] });
    const response = await request(app.getHttpServer()).get('/cats');
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ count: 1 });
    const spans = otel.spans();
    const handler = spans.find((s) => s.name === 'GET /cats')!;
    const incr = spans.find((s) => s.name === 'INCR')!;
    const pipeline = spans.find((s) => s.name === 'PIPELINE')!;
    for (const child of [incr, pipeline]) {
      expect(child.spanContext().traceId).toBe(handler.spanContext().traceId);
      expect(child.parentSpanContext?.spanId).toBe(handler.spanContext().spanId);
    }
    expect(incr.attributes).toMatchObject({
      'db.query.text': 'INCR cats:views',
      'server.port': server().port,
    });
    expect(pipeline.attributes['db.operation.batch.size']).toBe(2);
    trace.disable();
  });
});

describe('RedisPoolModule.forRoot({ instrumentation })', () => {
  const server = useRedisServer();
  afterEach(closeApps);

  it('subscribes the bridge once for two instrumented pools, and unsubscribes it after app.close()', async () => {
    const exporter = new InMemorySpanExporter();
    const tracerProvider = new BasicTracerProvider({
      spanProcessors: [new SimpleSpanProcessor(exporter)],
    });
    @Module({
      imports: [
        RedisPoolModule.forRoot({ url: server().url, instrumentation: { tracerProvider } }),
        RedisPoolModule.forRoot({ name: 'cache', url: server().url, instrumentation: true }),
      ],
    })
    class AppModule {}
    expect(commandChannel.hasSubscribers).toBe(false);
    const { app } = await bootApp({ imports: [AppModule] });
    expect(commandChannel.hasSubscribers).toBe(true);
    await app.get<RedisService>(getRedisToken('cache')).set('k', 'v');
    expect(exporter.getFinishedSpans().filter((s) => s.name === 'SET')).toHaveLength(1);
    await closeApp(app);
    expect(commandChannel.hasSubscribers).toBe(false);
    await tracerProvider.shutdown();
  });

  it('refuses an instrumentation option that is neither a boolean nor an object', async () => {
    @Module({
      imports: [
        RedisPoolModule.forRoot({
          url: server().url,
          instrumentation: 'yes' as unknown as boolean,
        }),
      ],
    })
    class AppModule {}
    await expect(bootApp({ imports: [AppModule] })).rejects.toThrow(
      'option instrumentation of pool "default" must be true, false or an object of options',
    );
  });
});
