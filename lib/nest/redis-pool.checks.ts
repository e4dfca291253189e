import { ConfigurationError } from '../errors/redis-pool.errors';
import { checkOptionKeys, poolLabel, typeName, withArticle } from '../pool/option-checks';
import { POOL_OPTION_KEYS } from '../pool/option-keys';
import type {
  RedisPoolClusterOptions,
  RedisPoolModuleOptions,
  RedisPoolSentinelOptions,
} from './redis-pool.interfaces';

/** The module's own option keys, besides the pool's (`PoolOptions`). */
const MODULE_KEYS = [
  'startup',
  'startupTimeoutMs',
  'cluster',
  'sentinel',
  'isGlobal',
  'instrumentation',
] as const;

/** The keys of the `cluster` option. */
const CLUSTER_KEYS = [
  'nodes',
  'readFrom',
  'maxRedirections',
  'refreshIntervalMs',
  'refreshMinIntervalMs',
  'stallTimeoutMs',
  'natMap',
  'allowedHosts',
  'splitAcrossSlots',
] as const;

/** The keys of the `sentinel` option. */
const SENTINEL_KEYS = [
  'sentinels',
  'masterName',
  'sentinelPassword',
  'sentinelUsername',
  'sentinelTls',
  'natMap',
  'readFrom',
  'recheckIntervalMs',
  'failoverPauseMs',
] as const;

/*
 * Compile-time checks that the lists above name exactly the keys of the option types: adding an option to a type
 * (e.g. to the Pick of `RedisPoolSentinelOptions`) without adding it here does not compile.
 */
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : never) : never;
type ModuleKey = (typeof MODULE_KEYS)[number] | (typeof POOL_OPTION_KEYS)[number];
const _moduleKeysMatch: Same<keyof RedisPoolModuleOptions, ModuleKey> = true;
const _clusterKeysMatch: Same<keyof RedisPoolClusterOptions, (typeof CLUSTER_KEYS)[number]> = true;
const _sentinelKeysMatch: Same<keyof RedisPoolSentinelOptions, (typeof SENTINEL_KEYS)[number]> =
  true;
void [_moduleKeysMatch, _clusterKeysMatch, _sentinelKeysMatch];

/** Checks a pool name; it becomes part of the injection tokens. */
export function checkPoolName(name: unknown): string {
  if (typeof name !== 'string' || name.trim() === '') {
    throw new ConfigurationError(
      `RedisPoolModule: the pool name must be a non-empty string, not ${JSON.stringify(name)}`,
    );
  }
  return name;
}

/**
 * Checks the module-level options (the pool's own values are checked by `ConnectionPool`) and that every key,
 * nested `cluster` and `sentinel` keys included, is known. `name` is the registration's name: options coming
 * from a `forRootAsync` factory (`fromFactory`) must not name another pool, nor carry `isGlobal`.
 */
export function checkModuleOptions(
  options: RedisPoolModuleOptions,
  name: string,
  fromFactory = false,
): void {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new ConfigurationError(
      // Not the value itself: a factory that returns its URL string instead of { url } would print it.
      `RedisPoolModule: the options of pool "${name}" must be an object, not ${withArticle(typeName(options))}`,
    );
  }
  if (fromFactory && options.isGlobal !== undefined) {
    throw new ConfigurationError(
      `${poolLabel(name)}: isGlobal cannot come from a forRootAsync factory (the module is registered before it ` +
        'runs); pass it to forRootAsync({ isGlobal })',
    );
  }
  checkOptionKeys(options, [...POOL_OPTION_KEYS, ...MODULE_KEYS], name);
  if (options.cluster !== undefined)
    checkOptionKeys(options.cluster, CLUSTER_KEYS, name, 'cluster.');
  if (options.sentinel !== undefined) {
    checkOptionKeys(options.sentinel, SENTINEL_KEYS, name, 'sentinel.');
  }
  if (options.name !== undefined && options.name !== name) {
    throw new ConfigurationError(
      `RedisPoolModule: options name "${options.name}" differs from the registration's name "${name}"; ` +
        'with forRootAsync, pass the name to forRootAsync({ name }) rather than return it from the factory',
    );
  }
  if (options.startup !== undefined && options.startup !== 'lazy' && options.startup !== 'wait') {
    throw new ConfigurationError(
      `RedisPoolModule: option startup of pool "${name}" must be 'lazy' or 'wait'`,
    );
  }
  const timeout = options.startupTimeoutMs;
  if (timeout !== undefined && !(Number.isInteger(timeout) && timeout > 0)) {
    throw new ConfigurationError(
      `RedisPoolModule: option startupTimeoutMs of pool "${name}" must be a positive integer`,
    );
  }
  if (options.sentinel !== undefined) {
    const clash = (['url', 'host', 'port', 'path', 'cluster'] as const).filter(
      (key) => options[key] !== undefined,
    );
    if (clash.length > 0) {
      throw new ConfigurationError(
        `RedisPoolModule: pool "${name}" sets sentinel together with ${clash.join(', ')}; ` +
          'the sentinels say where the master is',
      );
    }
  }
  if (options.cluster !== undefined) {
    const single = (['url', 'host', 'port', 'path'] as const).filter(
      (key) => options[key] !== undefined,
    );
    if (single.length > 0) {
      throw new ConfigurationError(
        `RedisPoolModule: pool "${name}" sets cluster together with ${single.join(', ')}; ` +
          'list every seed in cluster.nodes instead',
      );
    }
  }
}

/**
 * Runs `create` (which builds a pool), putting the pool's name in front of a `ConfigurationError` that does not
 * carry it yet, so that every configuration error of a registration says which pool it is about.
 */
export function withPoolName<T>(name: string, create: () => T): T {
  try {
    return create();
  } catch (error) {
    if (!(error instanceof ConfigurationError) || error.message.includes(`pool "${name}"`)) {
      throw error;
    }
    throw new ConfigurationError(`${poolLabel(name)}: ${error.message}`);
  }
}
