import { ConfigurationError } from '../errors/redis-pool.errors';
import type { PoolOptions } from './pool-options';

/** Query keys a URL may carry, and how each is read. */
const QUERY_KEYS: Record<
  string,
  (value: string, fail: (why: string) => never) => Partial<PoolOptions>
> = {
  db: (v, fail) => ({ db: integer(v, 'db', fail) }),
  protocol: (v, fail) => {
    if (v !== '2' && v !== '3') fail(`protocol must be 2 or 3, not "${v}"`);
    return { protocol: v === '3' ? 3 : 2 };
  },
  dispatch: (v, fail) => {
    if (v !== 'multiplexed' && v !== 'exclusive') fail(`dispatch must be multiplexed or exclusive`);
    return { dispatch: v as 'multiplexed' | 'exclusive' };
  },
  username: (v) => ({ username: v }),
  password: (v) => ({ password: v }),
  clientName: (v) => ({ clientName: v }),
  maxConnections: (v, fail) => ({ maxConnections: integer(v, 'maxConnections', fail) }),
  minIdle: (v, fail) => ({ minIdle: integer(v, 'minIdle', fail) }),
  acquireTimeoutMs: (v, fail) => ({ acquireTimeoutMs: integer(v, 'acquireTimeoutMs', fail) }),
  connectTimeoutMs: (v, fail) => ({ connectTimeoutMs: integer(v, 'connectTimeoutMs', fail) }),
  commandTimeoutMs: (v, fail) => ({ commandTimeoutMs: integer(v, 'commandTimeoutMs', fail) }),
  idleTimeoutMs: (v, fail) => ({ idleTimeoutMs: integer(v, 'idleTimeoutMs', fail) }),
  maxLifetimeMs: (v, fail) => ({ maxLifetimeMs: integer(v, 'maxLifetimeMs', fail) }),
  healthCheckIntervalMs: (v, fail) => ({
    healthCheckIntervalMs: integer(v, 'healthCheckIntervalMs', fail),
  }),
  keepAliveMs: (v, fail) => ({ keepAliveMs: integer(v, 'keepAliveMs', fail) }),
  maxQueueLength: (v, fail) => ({ maxQueueLength: integer(v, 'maxQueueLength', fail) }),
  drainTimeoutMs: (v, fail) => ({ drainTimeoutMs: integer(v, 'drainTimeoutMs', fail) }),
};

function integer(value: string, key: string, fail: (why: string) => never): number {
  if (!/^\d+$/.test(value)) fail(`${key} must be a non-negative integer, not "${value}"`);
  return Number(value);
}

/** The URL with any password replaced by `****`: the only form of a Redis URL this package ever prints. */
export function maskUrl(url: string): string {
  return url
    .replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/@?#]*:)[^@/?#]*@/i, '$1****@')
    .replace(/([?&]password=)[^&#]*/gi, '$1****');
}

/**
 * Reads a `redis://[[user]:password@]host[:port][/db][?key=value...]`, `rediss://...` (TLS) or
 * `unix:///path/to.sock[?db=N&password=...]` URL into pool options. User and password are percent-decoded; the
 * db comes from the path or `?db=` (the query wins); every other query key must name a known option.
 *
 * @throws ConfigurationError naming the problem, with the password masked.
 */
export function parseRedisUrl(url: string): PoolOptions {
  const masked = typeof url === 'string' ? maskUrl(url) : String(url);
  const fail = (why: string): never => {
    throw new ConfigurationError(`Invalid Redis URL ${masked}: ${why}`);
  };
  if (typeof url !== 'string' || url.length === 0) fail('expected a non-empty string');
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    // The URL parser's own error echoes the input, password included, so it is not kept as the cause.
    return fail(
      'it cannot be parsed (check the port and the percent-encoding of user and password)',
    );
  }
  const options: PoolOptions = {};
  switch (parsed.protocol) {
    case 'redis:':
    case 'rediss:': {
      if (parsed.hostname === '') fail('the host is missing');
      options.host = parsed.hostname.replace(/^\[(.*)\]$/, '$1');
      if (parsed.port !== '') {
        const port = Number(parsed.port);
        if (port < 1 || port > 65535) fail(`port ${parsed.port} is out of range`);
        options.port = port;
      }
      if (parsed.protocol === 'rediss:') options.tls = true;
      if (parsed.username !== '') options.username = decode(parsed.username, fail);
      if (parsed.password !== '') options.password = decode(parsed.password, fail);
      const dbText = parsed.pathname.replace(/^\//, '');
      if (dbText !== '') options.db = integer(dbText, 'the db in the path', fail);
      break;
    }
    case 'unix:': {
      const path = decode(parsed.pathname, fail);
      if (path === '' || path === '/') fail('the socket path is empty');
      options.path = path;
      break;
    }
    default:
      fail(`unsupported scheme "${parsed.protocol}" (use redis://, rediss:// or unix://)`);
  }
  for (const [key, value] of parsed.searchParams) {
    const read = QUERY_KEYS[key];
    if (read === undefined) {
      fail(`unknown query parameter "${key}" (known: ${Object.keys(QUERY_KEYS).join(', ')})`);
    }
    Object.assign(options, read(value, fail));
  }
  return options;
}

function decode(text: string, fail: (why: string) => never): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return fail('bad percent-encoding');
  }
}

/** Merges URL-derived options under explicit ones: an option given explicitly (not `undefined`) wins. */
export function mergeUrlOptions(url: string, options: PoolOptions = {}): PoolOptions {
  const merged: PoolOptions = parseRedisUrl(url);
  for (const [key, value] of Object.entries(options)) {
    if (value !== undefined && key !== 'url') (merged as Record<string, unknown>)[key] = value;
  }
  return merged;
}
