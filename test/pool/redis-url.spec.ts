import { inspect } from 'node:util';
import { ConfigurationError, RedisError } from '../../lib/errors/redis-pool.errors';
import { ConnectionPool } from '../../lib/pool/connection-pool';
import { resolvePoolOptions } from '../../lib/pool/pool-options';
import { maskUrl, mergeUrlOptions, parseRedisUrl } from '../../lib/pool/redis-url';

describe('parseRedisUrl', () => {
  it.each([
    ['redis://localhost', { host: 'localhost' }],
    ['redis://127.0.0.1:6380', { host: '127.0.0.1', port: 6380 }],
    ['redis://h:6379/3', { host: 'h', port: 6379, db: 3 }],
    ['redis://h/3?db=5', { host: 'h', db: 5 }],
    ['redis://h/', { host: 'h' }],
    ['redis://:secret@h', { host: 'h', password: 'secret' }],
    ['redis://alice:secret@h', { host: 'h', username: 'alice', password: 'secret' }],
    ['redis://alice@h', { host: 'h', username: 'alice' }],
    ['redis://:p%40ss%3Aw%2Fo%25rd@h', { host: 'h', password: 'p@ss:w/o%rd' }],
    ['redis://us%20er:pw@h', { host: 'h', username: 'us er', password: 'pw' }],
    ['redis://[::1]:6380/2', { host: '::1', port: 6380, db: 2 }],
    ['redis://[::1]', { host: '::1' }],
    ['rediss://h:6390', { host: 'h', port: 6390, tls: true }],
    ['unix:///tmp/redis.sock', { path: '/tmp/redis.sock' }],
    ['unix:///tmp/redis.sock?db=2', { path: '/tmp/redis.sock', db: 2 }],
    [
      'unix:///tmp/r.sock?password=pw&username=u',
      { path: '/tmp/r.sock', password: 'pw', username: 'u' },
    ],
    [
      'redis://h?protocol=3&clientName=app&maxConnections=20&commandTimeoutMs=250&dispatch=exclusive',
      {
        host: 'h',
        protocol: 3,
        clientName: 'app',
        maxConnections: 20,
        commandTimeoutMs: 250,
        dispatch: 'exclusive',
      },
    ],
    [
      'redis://h?minIdle=1&acquireTimeoutMs=1&connectTimeoutMs=2&idleTimeoutMs=3&maxLifetimeMs=4&healthCheckIntervalMs=5&keepAliveMs=6&maxQueueLength=7&drainTimeoutMs=8',
      {
        host: 'h',
        minIdle: 1,
        acquireTimeoutMs: 1,
        connectTimeoutMs: 2,
        idleTimeoutMs: 3,
        maxLifetimeMs: 4,
        healthCheckIntervalMs: 5,
        keepAliveMs: 6,
        maxQueueLength: 7,
        drainTimeoutMs: 8,
      },
    ],
  ])('%s', (url, expected) => {
    expect(parseRedisUrl(url)).toEqual(expected);
  });

  it.each([
    ['http://h', /unsupported scheme "http:"/],
    ['redis://h:99999', /cannot be parsed/],
    ['redis://h:abc', /cannot be parsed/],
    ['redis://h:0', /port 0 is out of range/],
    ['redis://h/abc', /db in the path must be a non-negative integer, not "abc"/],
    ['redis://h/-1', /db in the path must be a non-negative integer/],
    ['redis://h?db=x', /db must be a non-negative integer, not "x"/],
    ['redis://h?foo=1', /unknown query parameter "foo"/],
    ['redis://h?protocol=4', /protocol must be 2 or 3/],
    ['unix://', /socket path is empty/],
    ['unix:///', /socket path is empty/],
    ['', /expected a non-empty string/],
    ['not a url', /missing redis:\/\/ \(or rediss:\/\/, unix:\/\/\) at the start$/],
    ['http//h:1', /missing redis:\/\//],
  ])('rejects %s with a ConfigurationError naming the problem', (url, message) => {
    const call = () => parseRedisUrl(url);
    expect(call).toThrow(ConfigurationError);
    expect(call).toThrow(message);
  });

  it.each([
    'redis://:hunter2@h:99999',
    'redis://alice:hunter2@h/abc',
    'redis://:hunter2@h?foo=1',
    'ftp://alice:hunter2@h',
    'unix:///tmp/x.sock?password=hunter2&bogus=1',
  ])('never shows the password of %s in the error', (url) => {
    let caught: unknown;
    try {
      parseRedisUrl(url);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(RedisError);
    const error = caught as Error;
    expect(error.message).not.toContain('hunter2');
    expect(error.message).toContain('****');
    expect(inspect(error)).not.toContain('hunter2');
    expect(JSON.stringify(error)).not.toContain('hunter2');
    expect(error.cause).toBeUndefined();
  });

  it('masks passwords in URLs it prints', () => {
    expect(maskUrl('redis://alice:s3cr%40t@h:1/2')).toBe('redis://alice:****@h:1/2');
    expect(maskUrl('redis://:pw@h')).toBe('redis://:****@h');
    expect(maskUrl('redis://h?password=pw&db=1')).toBe('redis://h?password=****&db=1');
    expect(maskUrl('redis://h:6379')).toBe('redis://h:6379');
  });

  it('lets explicit options win over the URL, ignoring undefined ones', () => {
    expect(
      mergeUrlOptions('redis://:urlpw@h:1/2?clientName=a', {
        db: 7,
        password: undefined,
        clientName: 'b',
      }),
    ).toEqual({ host: 'h', port: 1, db: 7, password: 'urlpw', clientName: 'b' });
  });
});

describe('pool options', () => {
  it('applies the documented defaults', () => {
    const resolved = resolvePoolOptions({});
    expect(resolved).toEqual({
      connection: {
        host: 'localhost',
        port: 6379,
        db: 0,
        protocol: 2,
        connectTimeoutMs: 5000,
        commandTimeoutMs: 10000,
        keepAliveMs: 30000,
      },
      dispatch: 'multiplexed',
      maxConnections: 10,
      maxLeases: 10,
      maxPendingPerConnection: 10000,
      minIdle: 0,
      acquireTimeoutMs: 5000,
      commandTimeoutMs: 10000,
      idleTimeoutMs: 60000,
      maxLifetimeMs: 0,
      healthCheckIntervalMs: 30000,
      maxQueueLength: 100000,
      retry: { attempts: 3, baseDelayMs: 50, maxDelayMs: 2000 },
      drainTimeoutMs: 5000,
      clientSideCache: null,
    });
  });

  it.each([
    [{ maxConnections: 0 }, /maxConnections: 0 \(number\) must be at least 1/],
    [{ maxConnections: 1.5 }, /maxConnections: 1.5 \(number\) must be a non-negative integer/],
    [{ port: 70000 }, /port: 70000 \(number\) must be an integer from 1 to 65535/],
    [{ db: -1 }, /db: -1 \(number\) must be a non-negative integer/],
    [{ protocol: 4 as 2 }, /protocol: 4 \(number\) must be 2 or 3/],
    [{ minIdle: 5, maxConnections: 2 }, /minIdle: 5 \(number\) must be at most maxConnections/],
    [{ dispatch: 'fast' as 'exclusive' }, /dispatch: "fast" \(string\) must be/],
    [{ path: '' }, /path: "" \(string\) must be a non-empty string/],
  ])('rejects %p', (options, message) => {
    expect(() => new ConnectionPool(options)).toThrow(ConfigurationError);
    expect(() => new ConnectionPool(options)).toThrow(message);
  });

  it('fromUrl builds a pool whose inspect and JSON never show the password', async () => {
    const pool = ConnectionPool.fromUrl('redis://:hunter2@127.0.0.1:1/4', { maxConnections: 3 });
    expect(inspect(pool)).not.toContain('hunter2');
    expect(JSON.stringify(pool)).not.toContain('hunter2');
    expect(pool.toJSON()).toMatchObject({ address: '127.0.0.1:1', db: 4, maxConnections: 3 });
    await pool.disconnect();
  });
});
