import { ConfigurationError } from '../errors/redis-pool.errors';
import { closestName } from '../utils/did-you-mean';
import { INTEGER_OPTIONS } from './option-keys';
import { poolLabel } from './option-checks';
import type { PoolOptions } from './pool-options';

/**
 * How a bad part of a URL is reported: `fail` throws; `quote` shows a value (in quotes unless `bare`) only when
 * printing it is safe, i.e. when the masked URL shows it anyway.
 */
interface UrlCheck {
  fail(why: string): never;
  quote(text: string, bare?: boolean): string;
}

type QueryReader = (value: string, check: UrlCheck) => Partial<PoolOptions>;

/**
 * Query keys a URL may carry, and how each is read. A `Map`, so that `__proto__`, `constructor` and the like are
 * unknown keys like any other rather than `Object.prototype` members.
 */
const QUERY_KEYS: ReadonlyMap<string, QueryReader> = new Map<string, QueryReader>([
  ['db', (v, check) => ({ db: integer(v, 'db', check) })],
  [
    'protocol',
    (v, check) => {
      if (v !== '2' && v !== '3') check.fail(`protocol must be 2 or 3, not ${check.quote(v)}`);
      return { protocol: v === '3' ? 3 : 2 };
    },
  ],
  [
    'dispatch',
    (v, check) => {
      if (v !== 'multiplexed' && v !== 'exclusive') {
        check.fail('dispatch must be multiplexed or exclusive');
      }
      return { dispatch: v as 'multiplexed' | 'exclusive' };
    },
  ],
  ['username', (v) => ({ username: v })],
  ['password', (v) => ({ password: v })],
  ['clientName', (v) => ({ clientName: v })],
  ...INTEGER_OPTIONS.map((key): [string, QueryReader] => [
    key,
    (v, check) => ({ [key]: integer(v, key, check) }),
  ]),
]);

/** What stands in for a secret in every URL this package prints. */
const MASK = '****';

/** A `host[:port]` authority, which cannot hold a password: anything else might be one typed without `@`. */
const PLAIN_AUTHORITY = /^(\[[0-9a-f:.]*\]|[^:[\]@]*)(:\d*)?$/i;

function integer(value: string, key: string, check: UrlCheck): number {
  if (!/^\d+$/.test(value)) {
    check.fail(`${key} must be a non-negative integer, not ${check.quote(value)}`);
  }
  return Number(value);
}

/** `decodeURIComponent`, or `undefined` for bad percent-encoding. */
function tryDecode(text: string): string | undefined {
  try {
    return decodeURIComponent(text);
  } catch {
    return undefined;
  }
}

/**
 * Where the authority starts: after `scheme://`, else at the start of the text (`user:pass@host` has no scheme:
 * its `user:` must not be taken for one, or `pass` would pass for a user name).
 */
function authorityStart(text: string): number {
  return /^[a-z][a-z0-9+.-]*:\/\//i.exec(text)?.[0].length ?? 0;
}

/** Options that a URL carries in its own parts, or that a query cannot express: where each goes instead. */
const NOT_QUERY_KEYS: ReadonlyMap<string, string> = new Map([
  ['host', 'the host is the part after "@"'],
  ['port', 'the port is the part after the host'],
  ['path', 'a socket path is written unix:///path/to.sock'],
  ['tls', 'rediss:// means TLS; certificates go in the tls option'],
  ['url', 'it is the URL itself'],
  ['name', 'pass it as an option'],
  ['retry', 'pass it as an option'],
  ['decoderLimits', 'pass it as an option'],
  ['readOnly', 'pass it as an option'],
  ['expectRole', 'pass it as an option'],
]);

/**
 * Where the value of a `password` query parameter that starts at `from` ends: at the next `&` that starts a known
 * query key, or at the end of the text. A password with a raw `&`, `#` or `=` is thus masked whole.
 */
function queryValueEnd(text: string, from: number): number {
  const next = /&([^&=#?]*)=/g;
  next.lastIndex = from;
  for (let match = next.exec(text); match !== null; match = next.exec(text)) {
    if (QUERY_KEYS.has(tryDecode(match[1]) ?? '')) return match.index;
  }
  return text.length;
}

/** Masks the value of every `password` query parameter, however its key is percent-encoded or cased. */
function maskQueryPasswords(text: string): string {
  const key = /[?&]([^&=#?]*)=/g;
  let masked = '';
  let from = 0;
  for (let match = key.exec(text); match !== null; match = key.exec(text)) {
    if (tryDecode(match[1])?.toLowerCase() !== 'password') continue;
    const valueStart = match.index + match[0].length;
    const valueEnd = queryValueEnd(text, valueStart);
    masked += `${text.slice(from, valueStart)}${MASK}`;
    from = valueEnd;
    key.lastIndex = valueEnd;
  }
  return masked + text.slice(from);
}

/**
 * The user information of a URL, masked: a user name is kept only when it is followed by `:` and has none of the
 * characters that would make a parser end the authority early; all else becomes `****`.
 */
function maskUserInfo(userInfo: string): string {
  if (userInfo === '') return '';
  const colon = userInfo.indexOf(':');
  const user = colon === -1 ? userInfo : userInfo.slice(0, colon);
  if (/[/?#@\\]/.test(user)) return MASK;
  return colon === -1 ? user : `${user}:${MASK}`;
}

/**
 * The URL with its credentials replaced by `****`: the only form of a Redis URL this package ever prints.
 *
 * It holds whatever was given, parseable or not, and also when a URL parser would disagree with the user about
 * where the password ends (a raw `/`, `?`, `#` or `@` in it): everything between `://` and the last `@` is
 * masked (a plain user name is kept), and so is every `password=` query value up to the next known query key.
 * An authority without `@` that is not a plain `host:port` may be a password typed without its `@`, so the
 * whole rest of the URL is masked.
 */
export function maskUrl(url: string): string {
  if (typeof url !== 'string') return `(a ${typeof url}, not a URL string)`;
  const text = maskQueryPasswords(url);
  const start = authorityStart(text);
  const at = text.lastIndexOf('@');
  if (at >= start) {
    return `${text.slice(0, start)}${maskUserInfo(text.slice(start, at))}${text.slice(at)}`;
  }
  const end = text.slice(start).search(/[/?#]/);
  const authority = end === -1 ? text.slice(start) : text.slice(start, start + end);
  return PLAIN_AUTHORITY.test(authority) ? text : `${text.slice(0, start)}${MASK}`;
}

/** The query of a URL as key/value pairs, percent-decoded (a `+` is a plus sign, not a space). */
function queryPairs(search: string, check: UrlCheck): Array<[string, string]> {
  const pairs: Array<[string, string]> = [];
  for (const part of search.replace(/^\?/, '').split('&')) {
    if (part === '') continue;
    const equals = part.indexOf('=');
    const key = equals === -1 ? part : part.slice(0, equals);
    const value = equals === -1 ? '' : part.slice(equals + 1);
    pairs.push([decode(key, check), decode(value, check)]);
  }
  return pairs;
}

function decode(text: string, check: UrlCheck): string {
  return tryDecode(text) ?? check.fail('bad percent-encoding');
}

/**
 * Reads a `redis://[[user]:password@]host[:port][/db][?key=value...]`, `rediss://...` (TLS) or
 * `unix:///path/to.sock[?db=N&password=...]` URL into pool options. User, password and query are
 * percent-decoded (a `+` stays a plus sign); the db comes from the path or `?db=` (the query wins); every other
 * query key must name a known option.
 *
 * A raw `#` is refused (a Redis URL has no fragment, and one usually means a password that needed `%23`). A
 * value that is wrong is quoted in the error only when the masked URL shows it anyway, so that a password the
 * parser split in the wrong place never leaks through the message.
 *
 * @throws ConfigurationError naming the problem, with the password masked.
 */
export function parseRedisUrl(url: string, pool?: string): PoolOptions {
  const masked = maskUrl(url);
  const label = pool === undefined ? 'Invalid' : `${poolLabel(pool)}: invalid`;
  const check: UrlCheck = {
    fail: (why) => {
      throw new ConfigurationError(`${label} Redis URL ${masked}: ${why}`);
    },
    quote: (text, bare = false) => {
      if (!masked.includes(text)) return '(not shown: it may hold a secret)';
      return bare ? text : `"${text}"`;
    },
  };
  if (typeof url !== 'string' || url.length === 0) check.fail('expected a non-empty string');
  if (!url.includes('://') && !/^unix:/i.test(url)) {
    const example = /^[^\s/?#]+$/.test(masked) ? ` (write redis://${masked})` : '';
    check.fail(`missing redis:// (or rediss://, unix://) at the start${example}`);
  }
  if (url.includes('#')) {
    check.fail('it contains a raw "#" (percent-encode it as %23 in a user name or password)');
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    // The URL parser's own error echoes the input, password included, so it is not kept as the cause.
    return check.fail(
      'it cannot be parsed (check the port and the percent-encoding of user and password)',
    );
  }
  const options: PoolOptions = {};
  switch (parsed.protocol) {
    case 'redis:':
    case 'rediss:': {
      if (parsed.hostname === '') check.fail('the host is missing');
      options.host = parsed.hostname.replace(/^\[(.*)\]$/, '$1');
      if (parsed.port !== '') {
        const port = Number(parsed.port);
        if (port < 1 || port > 65535)
          check.fail(`port ${check.quote(parsed.port, true)} is out of range`);
        options.port = port;
      }
      if (parsed.protocol === 'rediss:') options.tls = true;
      if (parsed.username !== '') options.username = decode(parsed.username, check);
      if (parsed.password !== '') options.password = decode(parsed.password, check);
      const dbText = parsed.pathname.replace(/^\//, '');
      if (dbText !== '') options.db = integer(dbText, 'the db in the path', check);
      break;
    }
    case 'unix:': {
      const path = decode(parsed.pathname, check);
      if (path === '' || path === '/') check.fail('the socket path is empty');
      options.path = path;
      break;
    }
    default:
      check.fail(
        `unsupported scheme ${check.quote(parsed.protocol)} (use redis://, rediss:// or unix://)`,
      );
  }
  for (const [key, value] of queryPairs(parsed.search, check)) {
    const read = QUERY_KEYS.get(key);
    if (read === undefined) check.fail(unknownQueryKey(key, check));
    Object.assign(options, read(value, check));
  }
  return options;
}

/** Why a query key is refused: an option that has its own place, or the known key it most likely meant. */
function unknownQueryKey(key: string, check: UrlCheck): string {
  const shown = check.quote(key);
  const known = `(known: ${[...QUERY_KEYS.keys()].join(', ')})`;
  // A key the masked URL hides may be a piece of a password: nothing is said about it.
  if (shown !== `"${key}"`) return `unknown query parameter ${shown} ${known}`;
  const elsewhere = NOT_QUERY_KEYS.get(key);
  if (elsewhere !== undefined) {
    return `unknown query parameter ${shown}: ${key} is an option but not a query key (${elsewhere})`;
  }
  const guess = closestName(key, QUERY_KEYS.keys());
  return guess !== undefined
    ? `unknown query parameter ${shown} (did you mean \`${guess}\`?)`
    : `unknown query parameter ${shown} ${known}`;
}

/**
 * Merges URL-derived options under explicit ones: an option given explicitly (not `undefined`) wins. Errors name
 * the pool (`options.name`, else "default").
 */
export function mergeUrlOptions(url: string, options: PoolOptions = {}): PoolOptions {
  const merged: PoolOptions = parseRedisUrl(url, options.name ?? 'default');
  for (const [key, value] of Object.entries(options)) {
    if (value !== undefined && key !== 'url' && key !== '__proto__') {
      (merged as Record<string, unknown>)[key] = value;
    }
  }
  return merged;
}
