import { MAX_TIMER_MS } from '../utils/deadline';
import { checkClientSideCache } from './cache-option-checks';
import { POOL_DEFAULTS } from './pool-defaults';
import {
  checkOptionKeys,
  configurationError,
  describeValue,
  numberInStringHint,
} from './option-checks';
import {
  DECODER_LIMIT_OPTION_KEYS,
  INTEGER_OPTIONS,
  MS_OPTIONS,
  POOL_OPTION_KEYS,
  RETRY_OPTION_KEYS,
  STRING_OPTIONS,
} from './option-keys';

type Options = Readonly<Record<string, unknown>>;

function isInteger(value: unknown, min: number, max = Number.MAX_SAFE_INTEGER): boolean {
  return Number.isInteger(value) && (value as number) >= min && (value as number) <= max;
}

function isPlainObject(value: unknown): boolean {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Checks every `PoolOptions` key and value at run time, so that a JavaScript caller, a config file or an
 * environment variable cannot slip a wrong type past the compiler: an unknown key names the option it most
 * likely meant, a bad value shows its key, value and type (`port: "6391" (string)`, secrets never shown), and
 * every message starts with the pool's name. `undefined` counts as not given. `extraKeys` are further keys the
 * caller accepts and checks itself (a cluster's or sentinel's own).
 * @throws ConfigurationError
 */
export function checkPoolOptions(options: unknown, extraKeys: readonly string[] = []): void {
  const pool = (options as { name?: unknown } | null)?.name;
  checkOptionKeys(options, [...POOL_OPTION_KEYS, ...extraKeys], pool);
  const o = options as Options;
  const fail = (key: string, value: unknown, must: string): never => {
    throw configurationError(
      pool,
      `option ${describeValue(key, value)} must be ${must}${numberInStringHint(key, value)}`,
    );
  };
  const given = (key: string): boolean => o[key] !== undefined;

  for (const key of STRING_OPTIONS) {
    const value = o[key];
    if (!given(key) || (typeof value === 'string' && value.trim() !== '')) continue;
    if (key === 'url' && value === '') {
      fail(key, value, 'a redis://, rediss:// or unix:// URL (is REDIS_URL set but empty?)');
    }
    fail(key, value, 'a non-empty string');
  }
  for (const key of ['username', 'password'] as const) {
    if (given(key) && typeof o[key] !== 'string') fail(key, o[key], 'a string');
  }
  if (given('port') && !isInteger(o.port, 1, 65535)) {
    fail('port', o.port, 'an integer from 1 to 65535');
  }
  if (given('db') && !isInteger(o.db, 0)) fail('db', o.db, 'a non-negative integer');
  for (const key of INTEGER_OPTIONS) {
    if (given(key) && !isInteger(o[key], 0)) fail(key, o[key], 'a non-negative integer');
  }
  for (const key of MS_OPTIONS) {
    if (given(key) && (o[key] as number) > MAX_TIMER_MS) {
      fail(
        key,
        o[key],
        `at most ${MAX_TIMER_MS} ms (about 24.8 days, the longest a Node timer holds)`,
      );
    }
  }
  for (const key of ['maxConnections', 'maxLeases', 'maxPendingPerConnection'] as const) {
    if (o[key] === 0) fail(key, o[key], 'at least 1');
  }
  const maxConnections = (o.maxConnections as number | undefined) ?? POOL_DEFAULTS.maxConnections;
  if (given('minIdle') && (o.minIdle as number) > maxConnections) {
    fail('minIdle', o.minIdle, `at most maxConnections (${maxConnections})`);
  }
  if (given('protocol') && o.protocol !== 2 && o.protocol !== 3) {
    fail('protocol', o.protocol, '2 or 3');
  }
  if (given('dispatch') && o.dispatch !== 'multiplexed' && o.dispatch !== 'exclusive') {
    fail('dispatch', o.dispatch, "'multiplexed' or 'exclusive'");
  }
  if (given('tls') && typeof o.tls !== 'boolean' && !isPlainObject(o.tls)) {
    fail('tls', o.tls, "true, false or Node's tls.ConnectionOptions");
  }
  if (given('expectRole') && o.expectRole !== 'master' && o.expectRole !== 'slave') {
    fail('expectRole', o.expectRole, "'master' or 'slave'");
  }
  if (given('readOnly') && typeof o.readOnly !== 'boolean') {
    fail('readOnly', o.readOnly, 'true or false');
  }
  if (given('retry')) {
    checkOptionKeys(o.retry, RETRY_OPTION_KEYS, pool, 'retry.');
    const retry = o.retry as Options;
    for (const key of RETRY_OPTION_KEYS) {
      const value = retry[key];
      if (value !== undefined && !isInteger(value, 0, MAX_TIMER_MS)) {
        fail(`retry.${key}`, value, `a non-negative integer of at most ${MAX_TIMER_MS}`);
      }
    }
  }
  // A URL still to be merged may set the protocol; the merged options are checked again.
  checkClientSideCache(o, pool, !given('url'));
  if (given('decoderLimits')) {
    checkOptionKeys(o.decoderLimits, DECODER_LIMIT_OPTION_KEYS, pool, 'decoderLimits.');
    const limits = o.decoderLimits as Options;
    for (const key of DECODER_LIMIT_OPTION_KEYS) {
      const value = limits[key];
      if (value !== undefined && !isInteger(value, 1)) {
        fail(`decoderLimits.${key}`, value, 'a positive integer');
      }
    }
  }
}
