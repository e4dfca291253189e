import { ConfigurationError } from '../errors/redis-pool.errors';
import { closestName } from '../utils/did-you-mean';

/** Option keys whose values are never shown in a message: they hold, or may hold, a secret. */
const SECRET_KEYS = new Set(['password', 'sentinelPassword', 'tls', 'sentinelTls', 'url']);

/** Longest piece of a string value a message shows. */
const MAX_SHOWN = 60;

/** The pool's name as every `ConfigurationError` starts: `Redis pool "cache"`. */
export function poolLabel(name: unknown): string {
  return `Redis pool "${typeof name === 'string' && name.trim() !== '' ? name : 'default'}"`;
}

/** A `ConfigurationError` about the pool called `name`: `Redis pool "<name>": <text>`. */
export function configurationError(name: unknown, text: string): ConfigurationError {
  return new ConfigurationError(`${poolLabel(name)}: ${text}`);
}

/** What a value is, for a message: `null`, `array` or its `typeof`. */
export function typeName(value: unknown): string {
  if (value === null) return 'null';
  return Array.isArray(value) ? 'array' : typeof value;
}

/** `a string`, `an object`, `undefined`, `null`. */
export function withArticle(type: string): string {
  if (type === 'undefined' || type === 'null') return type;
  return `${/^[aeiou]/.test(type) ? 'an' : 'a'} ${type}`;
}

/**
 * A value as a message shows it, with its key and type: `port: "6391" (string)`, `maxConnections: 0 (number)`.
 * A secret's value, or a URL (which may hold one), is never shown: `password: (not shown) (number)`.
 */
export function describeValue(key: string, value: unknown): string {
  const type = typeName(value);
  let shown: string;
  if (value === '') shown = '""';
  else if (SECRET_KEYS.has(leafOf(key))) shown = '(not shown)';
  else if (typeof value === 'string') {
    shown = JSON.stringify(value.length > MAX_SHOWN ? `${value.slice(0, MAX_SHOWN)}…` : value);
  } else if (typeof value === 'bigint') shown = `${value}n`;
  else if (type === 'array') shown = '[…]';
  else if (type === 'object') shown = '{…}';
  else if (type === 'function') shown = '[function]';
  else shown = String(value);
  return `${key}: ${shown} (${type})`;
}

/** A hint for a number written as a string, which is what environment variables hold; else ''. */
export function numberInStringHint(key: string, value: unknown): string {
  return typeof value === 'string' &&
    /^\s*-?\d+(\.\d+)?\s*$/.test(value) &&
    !SECRET_KEYS.has(leafOf(key))
    ? ' (environment variables are strings: convert it with Number())'
    : '';
}

function leafOf(key: string): string {
  return key.slice(key.lastIndexOf('.') + 1);
}

/**
 * Checks that `options` is a plain options object whose every key is in `known`; an unknown key is a
 * `ConfigurationError` that names the key it most likely meant (`did you mean \`maxConnections\`?`) or lists the
 * known ones. `prefix` names a nested object (`'retry.'`).
 */
export function checkOptionKeys(
  options: unknown,
  known: readonly string[],
  pool: unknown,
  prefix = '',
): void {
  const what = prefix === '' ? 'the options' : `option ${prefix.slice(0, -1)}`;
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw configurationError(
      pool,
      `${what} must be an object, not ${withArticle(typeName(options))}` +
        (prefix === '' && typeof options === 'string'
          ? ' (for a URL, pass { url } or use ConnectionPool.fromUrl(url))'
          : ''),
    );
  }
  const knownSet = new Set(known);
  for (const key of Object.keys(options)) {
    if (knownSet.has(key)) continue;
    const guess = closestName(key, known);
    throw configurationError(
      pool,
      `unknown option \`${prefix}${key}\`` +
        (guess !== undefined
          ? ` (did you mean \`${prefix}${guess}\`?)`
          : ` (known: ${known.map((k) => `${prefix}${k}`).join(', ')})`),
    );
  }
}

/**
 * Checks that a URL was given: `undefined` or `''` (an unset or empty environment variable) is an error, never a
 * silent `localhost:6379`. `where` names the call, e.g. `ConnectionPool.fromUrl()`.
 */
export function checkUrlGiven(url: unknown, pool: unknown, where: string): asserts url is string {
  if (typeof url === 'string' && url.trim() !== '') return;
  const got = typeof url === 'string' ? 'an empty string' : withArticle(typeName(url));
  throw configurationError(
    pool,
    `${where} needs a URL such as redis://localhost:6379, not ${got} ` +
      '(is an environment variable such as REDIS_URL unset or empty?)',
  );
}
