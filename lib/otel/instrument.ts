import * as dc from 'node:diagnostics_channel';
import { metrics, trace } from '@opentelemetry/api';
import { batchChannel, CHANNELS, commandChannel, connectChannel } from '../observability/channels';
import {
  DURATION_BUCKETS,
  INSTRUMENTATION_NAME,
  type RedisInstrumentationOptions,
} from './otel.options';
import { METRICS, PoolMetrics } from './pool-metrics';
import { SpanRecorder } from './spans';

/** Nothing to do for a phase nobody needs (TracingChannel.subscribe wants all five). */
function ignore(): void {
  // A phase with nothing to record.
}

/**
 * Subscribes to the `nestjs-redis-pool:*` diagnostics channels and turns them into OpenTelemetry spans (one CLIENT
 * span per command, pipeline, transaction and connect, with the database semantic-convention attributes) and
 * metrics (`db.client.operation.duration`, the `db.client.connection.*` pool metrics keyed by
 * `db.client.connection.pool.name`, and this package's own). Every pool in the process is covered, whenever it was
 * created. Returns a disposer that unsubscribes everything; calling it twice does nothing.
 */
export function instrumentRedisPools(options: RedisInstrumentationOptions = {}): () => void {
  const tracer = (options.tracerProvider ?? trace.getTracerProvider()).getTracer(
    INSTRUMENTATION_NAME,
  );
  const meter = (options.meterProvider ?? metrics.getMeterProvider()).getMeter(
    INSTRUMENTATION_NAME,
  );
  const duration = meter.createHistogram(METRICS.operationDuration, {
    unit: 's',
    description: 'Duration of database client operations.',
    advice: { explicitBucketBoundaries: DURATION_BUCKETS },
  });
  const spans = new SpanRecorder(tracer, duration, options);
  const pool = new PoolMetrics(meter);
  const phases = { end: ignore, asyncStart: ignore };
  const command = { ...phases, ...spans.command };
  const batch = { ...phases, ...spans.batch };
  const connect = { ...phases, ...spans.connect };
  commandChannel.subscribe(command);
  batchChannel.subscribe(batch);
  const traceConnects = options.traceConnects ?? true;
  if (traceConnects) connectChannel.subscribe(connect);
  dc.subscribe(CHANNELS.connectionCreate, pool.created as (message: unknown) => void);
  dc.subscribe(CHANNELS.leaseAcquire, pool.acquired as (message: unknown) => void);
  dc.subscribe(CHANNELS.leaseRelease, pool.released as (message: unknown) => void);
  let disposed = false;
  return () => {
    if (disposed) return;
    disposed = true;
    commandChannel.unsubscribe(command);
    batchChannel.unsubscribe(batch);
    if (traceConnects) connectChannel.unsubscribe(connect);
    dc.unsubscribe(CHANNELS.connectionCreate, pool.created as (message: unknown) => void);
    dc.unsubscribe(CHANNELS.leaseAcquire, pool.acquired as (message: unknown) => void);
    dc.unsubscribe(CHANNELS.leaseRelease, pool.released as (message: unknown) => void);
    pool.dispose();
  };
}
