import { ConfigurationError } from '../errors/redis-pool.errors';
import { parseRedisUrl } from '../pool/redis-url';
import type { SentinelAddress, SentinelPoolOptions, SentinelReadFrom } from './sentinel-options';

/** A sentinel's port when the URL gives none. */
export const DEFAULT_SENTINEL_PORT = 26379;

const SCHEMES = /^(rediss?)-sentinel:\/\//i;

/** Query keys of the sentinel's own options; every other key is read as in a `redis://` URL. */
const SENTINEL_KEYS = [
  'sentinelPassword',
  'sentinelUsername',
  'readFrom',
  'recheckIntervalMs',
  'failoverPauseMs',
] as const;

/** Whether `url` is a `redis-sentinel://` or `rediss-sentinel://` URL. */
export function isSentinelUrl(url: unknown): url is string {
  return typeof url === 'string' && SCHEMES.test(url);
}

/**
 * The URL with its secrets replaced by `****`: the user information (a plain user name is kept), and everything
 * from the first password query value on (`password=`, `sentinelPassword=`), whatever it holds.
 */
export function maskSentinelUrl(url: string): string {
  const scheme = SCHEMES.exec(url)?.[0] ?? '';
  let rest = url.slice(scheme.length);
  const password = /[?&][^=&]*password=/i.exec(rest);
  if (password !== null) rest = `${rest.slice(0, password.index + password[0].length)}****`;
  const at = rest.lastIndexOf('@');
  if (at !== -1) {
    const user = rest.slice(0, at).split(':')[0];
    const kept = /^[\w.-]*$/.test(user) && rest.slice(0, at).includes(':') ? `${user}:` : '';
    rest = `${kept}****${rest.slice(at)}`;
  }
  return scheme + rest;
}

function decodePart(text: string, fail: (why: string) => never): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return fail('bad percent-encoding');
  }
}

function parseHost(text: string, fail: (why: string) => never): SentinelAddress {
  const match = /^(\[[0-9a-f:.]+\]|[^:[\]]+)(?::(\d+))?$/i.exec(text);
  if (match === null) fail(`bad sentinel address "${text}" (expected host or host:port)`);
  const port = match[2] === undefined ? DEFAULT_SENTINEL_PORT : Number(match[2]);
  if (port < 1 || port > 65535) fail(`sentinel port ${match[2]} is out of range`);
  return { host: match[1].replace(/^\[(.*)\]$/, '$1'), port };
}

/**
 * Reads a Sentinel URL into `SentinelPool` options:
 * `redis-sentinel://[[user]:password@]host1[:port1][,host2[:port2]...]/masterName[/db][?key=value...]`.
 *
 * The user and password are the data nodes' (as in a `redis://` URL); a sentinel's port defaults to 26379;
 * `rediss-sentinel://` means TLS to the sentinels and to the data nodes. The query takes every key a `redis://`
 * URL takes, plus `sentinelPassword`, `sentinelUsername`, `readFrom`, `recheckIntervalMs` and `failoverPauseMs`.
 *
 * @throws ConfigurationError naming the problem, with every secret masked.
 */
export function parseSentinelUrl(url: string): SentinelPoolOptions {
  const masked = isSentinelUrl(url) ? maskSentinelUrl(url) : '(not a redis-sentinel:// URL)';
  const fail = (why: string): never => {
    throw new ConfigurationError(`Invalid Redis Sentinel URL ${masked}: ${why}`);
  };
  const scheme = SCHEMES.exec(typeof url === 'string' ? url : '');
  if (scheme === null) return fail('expected redis-sentinel:// or rediss-sentinel://');
  let rest = url.slice(scheme[0].length);
  const queryAt = rest.indexOf('?');
  const query = queryAt === -1 ? '' : rest.slice(queryAt + 1);
  if (queryAt !== -1) rest = rest.slice(0, queryAt);
  const at = rest.lastIndexOf('@');
  const userInfo = at === -1 ? '' : rest.slice(0, at);
  rest = rest.slice(at + 1);
  const slash = rest.indexOf('/');
  const hosts = slash === -1 ? rest : rest.slice(0, slash);
  const [masterName = '', db, ...extra] = (slash === -1 ? '' : rest.slice(slash + 1)).split('/');
  if (hosts === '') fail('no sentinel address');
  if (masterName === '') fail('the master name is missing (…/masterName)');
  if (extra.length > 0) fail('the path is /masterName or /masterName/db');

  const sentinel: Record<string, string> = {};
  const dataQuery: string[] = [];
  for (const part of query.split('&')) {
    if (part === '') continue;
    const key = decodePart(part.split('=')[0], fail);
    if ((SENTINEL_KEYS as readonly string[]).includes(key)) {
      sentinel[key] = decodePart(part.slice(part.indexOf('=') + 1), fail);
    } else dataQuery.push(part);
  }
  // The data nodes' part, read exactly as a redis:// URL (user, password, db, every other query key).
  let data: ReturnType<typeof parseRedisUrl>;
  try {
    const auth = userInfo === '' ? '' : `${userInfo}@`;
    const dbPath = db === undefined ? '' : `/${db}`;
    const search = dataQuery.length === 0 ? '' : `?${dataQuery.join('&')}`;
    data = parseRedisUrl(`${scheme[1]}://${auth}sentinel.invalid${dbPath}${search}`);
  } catch (error) {
    const why = (error as Error).message.replace(/^Invalid Redis URL .*?: /, '');
    return fail(why);
  }
  const { host: _host, port: _port, tls, ...node } = data;
  const options: SentinelPoolOptions = {
    ...node,
    sentinels: hosts.split(',').map((text) => parseHost(text, fail)),
    masterName: decodePart(masterName, fail),
  };
  if (tls !== undefined) Object.assign(options, { tls, sentinelTls: tls });
  if (sentinel.sentinelPassword !== undefined) options.sentinelPassword = sentinel.sentinelPassword;
  if (sentinel.sentinelUsername !== undefined) options.sentinelUsername = sentinel.sentinelUsername;
  if (sentinel.readFrom !== undefined) options.readFrom = sentinel.readFrom as SentinelReadFrom;
  for (const key of ['recheckIntervalMs', 'failoverPauseMs'] as const) {
    if (sentinel[key] === undefined) continue;
    if (!/^\d+$/.test(sentinel[key])) fail(`${key} must be a non-negative integer`);
    options[key] = Number(sentinel[key]);
  }
  return options;
}

/** The options of `parseSentinelUrl(url)` with `options` over them (the ones given, `url` itself left out). */
export function sentinelUrlOptions(
  url: string,
  options: Partial<SentinelPoolOptions>,
): SentinelPoolOptions {
  const merged: Record<string, unknown> = { ...parseSentinelUrl(url) };
  for (const [key, value] of Object.entries(options)) {
    if (value !== undefined && key !== 'url' && key !== '__proto__') merged[key] = value;
  }
  return merged as unknown as SentinelPoolOptions;
}
