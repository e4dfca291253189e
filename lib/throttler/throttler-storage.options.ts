import { ConfigurationError } from '../errors/redis-pool.errors';

/** Options of `new RedisThrottlerStorage(redis, options)`. */
export interface RedisThrottlerStorageOptions {
  /**
   * First part of every key the storage writes: the record of one tracker key for one throttler is the string
   * `<keyPrefix>:<throttlerName>:<key>`.
   * @default 'throttler'
   */
  keyPrefix?: string;
}

/** The default `keyPrefix`. */
export const DEFAULT_THROTTLER_KEY_PREFIX = 'throttler';

const KNOWN_OPTIONS: readonly string[] = ['keyPrefix'];

/** Checks the options and fills in the defaults. */
export function resolveThrottlerOptions(
  options: RedisThrottlerStorageOptions = {},
): Required<RedisThrottlerStorageOptions> {
  for (const name of Object.keys(options)) {
    if (!KNOWN_OPTIONS.includes(name)) {
      throw new ConfigurationError(
        `Unknown RedisThrottlerStorage option "${name}" (known: ${KNOWN_OPTIONS.join(', ')})`,
      );
    }
  }
  const keyPrefix = options.keyPrefix ?? DEFAULT_THROTTLER_KEY_PREFIX;
  if (typeof keyPrefix !== 'string') {
    throw new ConfigurationError(
      `RedisThrottlerStorage option keyPrefix must be a string, got ${String(keyPrefix)} (${typeof keyPrefix})`,
    );
  }
  return { keyPrefix };
}
