/**
 * `nestjs-redis-pool/otel`: OpenTelemetry spans and metrics for every pool, from the package's diagnostics
 * channels. A separate entry point; `@opentelemetry/api` (an optional peer) is loaded only from here.
 */
import './otel-peer';

export { instrumentRedisPools } from './instrument';
export {
  DURATION_BUCKETS,
  INSTRUMENTATION_NAME,
  type RedisInstrumentationOptions,
} from './otel.options';
export { METRICS } from './pool-metrics';
export { ATTR } from './attributes';
export { OTEL_API_MISSING } from './otel-peer';
