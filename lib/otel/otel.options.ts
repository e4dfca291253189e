import type { MeterProvider, TracerProvider } from '@opentelemetry/api';

/** Options of `instrumentRedisPools`. */
export interface RedisInstrumentationOptions {
  /**
   * Where spans go.
   * @default the global tracer provider (`trace.getTracerProvider()`)
   */
  tracerProvider?: TracerProvider;
  /**
   * Where metrics go.
   * @default the global meter provider (`metrics.getMeterProvider()`)
   */
  meterProvider?: MeterProvider;
  /**
   * What `db.query.text` shows: `'keys'` the command with its keys and structural words (every value `?`),
   * `'redacted'` the command name with a `?` per argument, `false` no `db.query.text` at all.
   * @default 'keys'
   */
  queryText?: 'keys' | 'redacted' | false;
  /**
   * A span for every connection being opened (connect and handshake), in the active context of the operation
   * that needed it.
   * @default true
   */
  traceConnects?: boolean;
}

/** The instrumentation scope's name (tracer and meter). */
export const INSTRUMENTATION_NAME = 'nestjs-redis-pool';

/** `db.client.operation.duration` buckets advised by the semantic conventions, in seconds. */
export const DURATION_BUCKETS = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10];
