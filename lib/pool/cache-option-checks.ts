import {
  CACHE_DEFAULTS,
  CLIENT_SIDE_CACHE_OPTION_KEYS,
  type CacheLimits,
  type ClientSideCacheOptions,
} from '../client-cache/client-cache.options';
import { checkOptionKeys, configurationError, describeValue } from './option-checks';

type Options = Readonly<Record<string, unknown>>;

/**
 * Checks the `clientSideCache` option: its keys (a typo names the key it most likely meant), that each limit is a
 * positive integer (`ttlMs` may be 0), and what it needs from the rest: RESP3 (`protocol: 3`), since only RESP3
 * delivers invalidations on the connection that read the key, and multiplexed dispatch. `protocolKnown: false`
 * skips the protocol check when a URL still to be merged may set it.
 * @throws ConfigurationError
 */
export function checkClientSideCache(o: Options, pool: unknown, protocolKnown: boolean): void {
  const cache = o.clientSideCache;
  if (cache === undefined) return;
  checkOptionKeys(cache, CLIENT_SIDE_CACHE_OPTION_KEYS, pool, 'clientSideCache.');
  const limits = cache as Options;
  for (const key of CLIENT_SIDE_CACHE_OPTION_KEYS) {
    const value = limits[key];
    const min = key === 'ttlMs' ? 0 : 1;
    if (value !== undefined && (!Number.isSafeInteger(value) || (value as number) < min)) {
      throw configurationError(
        pool,
        `option ${describeValue(`clientSideCache.${key}`, value)} must be ${min === 0 ? 'a non-negative' : 'a positive'} integer`,
      );
    }
  }
  if (protocolKnown && o.protocol !== 3) {
    throw configurationError(
      pool,
      'option clientSideCache needs protocol: 3 (RESP3 delivers the invalidation pushes on the connection that ' +
        `read the key), but protocol is ${o.protocol === undefined ? 'not set (2)' : String(o.protocol)}`,
    );
  }
  if (o.dispatch === 'exclusive') {
    throw configurationError(
      pool,
      "option clientSideCache needs dispatch: 'multiplexed' (leases bypass the cache, and exclusive dispatch leases every command)",
    );
  }
}

/** The cache's limits with the defaults applied, or `null` without the option. */
export function resolveCacheLimits(cache: ClientSideCacheOptions | undefined): CacheLimits | null {
  if (cache === undefined) return null;
  return {
    maxEntries: cache.maxEntries ?? CACHE_DEFAULTS.maxEntries,
    maxBytes: cache.maxBytes ?? CACHE_DEFAULTS.maxBytes,
    ttlMs: cache.ttlMs ?? CACHE_DEFAULTS.ttlMs,
  };
}
