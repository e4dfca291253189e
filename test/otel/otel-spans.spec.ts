import { SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { instrumentRedisPools } from '../../lib/otel';
import { commandChannel } from '../../lib/observability/channels';
import { RedisService } from '../../lib/client/redis.service';
import { ResponseError } from '../../lib/errors/redis-pool.errors';
import { ConnectionPool } from '../../lib/pool/connection-pool';
import { startRedisServer, type RedisServerHandle } from '../harness';
import { expectNothingOpen, uniqueName, watchUnhandledRejections } from '../pool/pool-checks';
import { spanStrings, useOtel } from './otel-helpers';

describe('nestjs-redis-pool/otel spans (real SDK, real redis-server)', () => {
  watchUnhandledRejections();
  const otel = useOtel();
  let server: RedisServerHandle;
  let pool: ConnectionPool;
  let redis: RedisService;
  let name: string;

  beforeEach(async () => {
    server = await startRedisServer({ password: 'otel-pw-secret' });
    name = uniqueName('otel');
    pool = new ConnectionPool({
      url: `redis://:otel-pw-secret@${server.host}:${server.port}/3`,
      clientName: name,
      name: 'orders',
    });
    redis = new RedisService(pool);
  });

  afterEach(async () => {
    await expectNothingOpen(pool, server.running ? server : null, name);
    await server.dispose();
  });

  it('gives each command a CLIENT span with the database semantic-convention attributes', async () => {
    await redis.set('user:1', 'value-one');
    const spans = otel.spans().filter((s) => s.name === 'SET');
    expect(spans).toHaveLength(1);
    const [span] = spans;
    expect(span.kind).toBe(SpanKind.CLIENT);
    expect(span.attributes).toEqual({
      'db.system.name': 'redis',
      'db.operation.name': 'SET',
      'db.namespace': '3',
      'db.query.text': 'SET user:1 ?',
      'server.address': server.host,
      'server.port': server.port,
    });
    expect(span.status.code).toBe(SpanStatusCode.UNSET);
    expect(span.instrumentationScope.name).toBe('nestjs-redis-pool');
  });

  it('makes the active span the parent of the command, and of the connect it needed', async () => {
    const tracer = otel.tracer();
    await tracer.startActiveSpan('handler', async (parent) => {
      await redis.get('k');
      parent.end();
    });
    const handler = otel.spans().find((s) => s.name === 'handler')!;
    const get = otel.spans().find((s) => s.name === 'GET')!;
    const connect = otel.spans().find((s) => s.name === 'connect')!;
    expect(get.spanContext().traceId).toBe(handler.spanContext().traceId);
    expect(get.parentSpanContext?.spanId).toBe(handler.spanContext().spanId);
    expect(connect.parentSpanContext?.spanId).toBe(handler.spanContext().spanId);
    expect(connect.attributes).toMatchObject({
      'db.client.connection.pool.name': 'orders',
      'server.port': server.port,
    });
    // Outside any span: a root span.
    await redis.get('k');
    expect(otel.spans().filter((s) => s.name === 'GET')[1].parentSpanContext).toBeUndefined();
  });

  it('records an error reply: status, db.response.status_code, error.type and the exception', async () => {
    await redis.set('str', 'x');
    await expect(redis.lpush('str', 'y')).rejects.toBeInstanceOf(ResponseError);
    const span = otel.spans().find((s) => s.name === 'LPUSH')!;
    expect(span.status.code).toBe(SpanStatusCode.ERROR);
    expect(span.attributes).toMatchObject({
      'db.response.status_code': 'WRONGTYPE',
      'error.type': 'WRONGTYPE',
      'db.query.text': 'LPUSH str ?',
    });
    expect(span.events.map((e) => e.name)).toEqual(['exception']);
  });

  it('gives a pipeline and a transaction one span each, with the batch size', async () => {
    await redis.ping();
    const before = otel.spans().length;
    await redis.pipeline().set('a', 'value-a').get('a').incr('n').exec();
    await redis.multi().set('b', 'value-b').get('b').exec();
    const spans = otel.spans().slice(before);
    expect(spans.map((s) => s.name)).toEqual(['PIPELINE', 'MULTI']);
    expect(spans[0].attributes).toMatchObject({
      'db.operation.name': 'PIPELINE',
      'db.operation.batch.size': 3,
      'db.query.text': 'SET a ?; GET a; INCR n',
      'server.port': server.port,
      'db.namespace': '3',
    });
    expect(spans[1].attributes).toMatchObject({ 'db.operation.batch.size': 2 });
  });

  it('puts no password and no value in any span, attribute, event or status', async () => {
    const values = ['v-alpha-secret', 'v-beta-secret', 'v-gamma-secret'];
    await redis.set('k1', values[0]);
    await redis.hset('h', 'f', values[1]);
    await redis.executeCommand('EVAL', 'return 1', '1', 'k1', values[2]);
    await redis.executeCommand('CONFIG', 'SET', 'requirepass', 'otel-pw-secret');
    await redis.pipeline().set('k2', values[0]).rpush('l', values[1]).exec();
    await redis.withConnection((c) => c.executeCommand('ECHO', values[2]));
    // Redis quotes the arguments of an unknown command in its error reply.
    await expect(redis.executeCommand('NOSUCHCMD', values[0])).rejects.toThrow(values[0]);
    const strings = otel.spans().flatMap(spanStrings);
    expect(otel.spans().length).toBeGreaterThan(6);
    for (const secret of ['otel-pw-secret', ...values]) {
      expect(strings.filter((s) => s.includes(secret))).toEqual([]);
    }
    const unknown = otel.spans().find((s) => s.name === 'NOSUCHCMD')!;
    expect(unknown.status.message).toContain('arguments not shown');
  });

  it('queryText: leaves db.query.text out on request', async () => {
    // A second bridge with its own provider, next to the default one.
    const exporter = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({
      spanProcessors: [new SimpleSpanProcessor(exporter)],
    });
    const dispose = instrumentRedisPools({ tracerProvider: provider, queryText: false });
    const redacted = instrumentRedisPools({ tracerProvider: provider, queryText: 'redacted' });
    await redis.set('k', 'v');
    dispose();
    redacted();
    const sets = exporter.getFinishedSpans().filter((s) => s.name === 'SET');
    expect(sets.map((s) => s.attributes['db.query.text'])).toEqual([undefined, 'SET ? ?']);
    await provider.shutdown();
  });

  it('stops tracing once disposed', async () => {
    otel.state.dispose();
    otel.state.dispose(); // twice does nothing
    expect(commandChannel.hasSubscribers).toBe(false);
    await redis.set('k', 'v');
    expect(otel.spans().filter((s) => s.name === 'SET')).toEqual([]);
    expect(trace.getActiveSpan()).toBeUndefined();
  });
});
