import { ConfigurationError } from '../errors/redis-pool.errors';

/** What to install, said instead of Node's bare "Cannot find module". */
export const OTEL_API_MISSING =
  'nestjs-redis-pool/otel needs @opentelemetry/api, which is not installed: run ' +
  '`npm install @opentelemetry/api` (and an OpenTelemetry SDK). The main entry, nestjs-redis-pool, never needs it.';

/** Throws `ConfigurationError(OTEL_API_MISSING)` when `@opentelemetry/api` cannot be resolved from here. */
export function assertOtelApiInstalled(): void {
  try {
    require.resolve('@opentelemetry/api');
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code !== 'MODULE_NOT_FOUND' && code !== 'ERR_MODULE_NOT_FOUND') throw error;
    throw new ConfigurationError(OTEL_API_MISSING, { cause: error });
  }
}

assertOtelApiInstalled();
