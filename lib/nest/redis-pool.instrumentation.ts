import { ConfigurationError } from '../errors/redis-pool.errors';
import type { RedisInstrumentationOptions } from '../otel/otel.options';
import type { RedisPool } from '../pool/redis-pool.interface';

/**
 * `RedisPoolModule.forRoot({ instrumentation })`: `true`, or the options of `instrumentRedisPools` from
 * `nestjs-redis-pool/otel` (typed loosely here so that the main entry's types never name `@opentelemetry/api`).
 */
export interface RedisPoolInstrumentationOptions {
  /** An OpenTelemetry `TracerProvider`; the global one by default. */
  tracerProvider?: object;
  /** An OpenTelemetry `MeterProvider`; the global one by default. */
  meterProvider?: object;
  /**
   * What `db.query.text` shows (see `instrumentRedisPools`).
   * @default 'keys'
   */
  queryText?: 'keys' | 'redacted' | false;
  /**
   * A span for every connection being opened.
   * @default true
   */
  traceConnects?: boolean;
}

/** The one bridge of the process, shared by every registration that asks for it, with how many do. */
let shared: { dispose: () => void; users: number } | null = null;

/**
 * Subscribes the OpenTelemetry bridge (once per process, however many registrations ask; the first one's options
 * win) and unsubscribes it after the last instrumented pool closed. `@opentelemetry/api` is loaded only here, and
 * only when asked for.
 */
export function instrumentPool(
  name: string,
  pool: RedisPool,
  option: boolean | RedisPoolInstrumentationOptions | undefined,
): void {
  if (option === undefined || option === false) return;
  if (option !== true && (typeof option !== 'object' || option === null)) {
    throw new ConfigurationError(
      `RedisPoolModule: option instrumentation of pool "${name}" must be true, false or an object of options`,
    );
  }
  if (shared === null) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { instrumentRedisPools } = require('../otel') as typeof import('../otel');
    const options = option === true ? {} : (option as RedisInstrumentationOptions);
    shared = { dispose: instrumentRedisPools(options), users: 0 };
  }
  const bridge = shared;
  bridge.users++;
  let released = false;
  const release = () => {
    if (released) return;
    released = true;
    if (--bridge.users === 0) {
      bridge.dispose();
      if (shared === bridge) shared = null;
    }
  };
  pool.on('closing', () => {
    pool.disconnect().then(release, release);
  });
}
