import { ConfigurationError } from '../errors/redis-pool.errors';

/**
 * What to install, said before anything requires `@nestjs/terminus` (an optional peer), instead of Node's bare
 * "Cannot find module". Imported first by the entry point, for its side effect.
 */
export const TERMINUS_MISSING =
  'nestjs-redis-pool/health needs @nestjs/terminus, which is not installed: run ' +
  '`npm install @nestjs/terminus@12` in a NestJS 12 app, or `npm install @nestjs/terminus@11` in a NestJS 11 ' +
  'app (Terminus 12 is ESM-only, which CommonJS apps and jest cannot load without extra set-up). The main ' +
  'entry, nestjs-redis-pool, never needs it.';

/** Throws `ConfigurationError(TERMINUS_MISSING)` when `@nestjs/terminus` cannot be resolved from here. */
export function assertTerminusInstalled(): void {
  try {
    require.resolve('@nestjs/terminus');
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code !== 'MODULE_NOT_FOUND' && code !== 'ERR_MODULE_NOT_FOUND') throw error;
    throw new ConfigurationError(TERMINUS_MISSING, { cause: error });
  }
}

assertTerminusInstalled();
