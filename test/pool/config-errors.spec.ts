import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { ClusterPool } from '../../lib/cluster/cluster-pool';
import { ConfigurationError, ResponseError } from '../../lib/errors/redis-pool.errors';
import { ConnectionPool } from '../../lib/pool/connection-pool';
import type { PoolOptions } from '../../lib/pool/pool-options';
import { parseRedisUrl } from '../../lib/pool/redis-url';
import { closestName } from '../../lib/utils/did-you-mean';

/** The message of the ConfigurationError `fn` throws (failing when it throws anything else, or nothing). */
function configError(fn: () => unknown): string {
  let caught: unknown;
  try {
    const made = fn() as { disconnect?: () => Promise<void> } | undefined;
    void made?.disconnect?.();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(ConfigurationError);
  return (caught as Error).message;
}

const loose = (options: Record<string, unknown>) => options as PoolOptions;

describe('closestName', () => {
  const known = [
    'maxConnections',
    'maxLeases',
    'minIdle',
    'db',
    'port',
    'commandTimeoutMs',
    'maxPendingPerConnection',
  ];

  it.each([
    ['maxConections', 'maxConnections'],
    ['maxconnections', 'maxConnections'],
    ['MAXCONNECTIONS', 'maxConnections'],
    ['maxConnection', 'maxConnections'],
    ['maxLaeses', 'maxLeases'],
    ['commandTimeout', 'commandTimeoutMs'],
    ['DB', 'db'],
    ['prot', 'port'],
    // Case is ignored before counting edits: 3 case changes and 1 typo would be 4 edits, too many otherwise.
    ['maxpendingperconection', 'maxPendingPerConnection'],
  ])('%s means %s', (typo, meant) => {
    expect(closestName(typo, known)).toBe(meant);
  });

  it.each(['colour', 'x', 'timeout', 'somethingElseEntirely'])('%s means nothing known', (word) => {
    expect(closestName(word, known)).toBeUndefined();
  });
});

describe('pool options are checked at run time', () => {
  it('an unknown key names the option it most likely meant, case-insensitively', () => {
    expect(configError(() => new ConnectionPool(loose({ maxConections: 5 })))).toBe(
      'Redis pool "default": unknown option `maxConections` (did you mean `maxConnections`?)',
    );
    expect(configError(() => new ConnectionPool(loose({ MaxConnections: 5 })))).toBe(
      'Redis pool "default": unknown option `MaxConnections` (did you mean `maxConnections`?)',
    );
    // A typo whose value is undefined (an unset environment variable) is still a typo.
    expect(configError(() => new ConnectionPool(loose({ ulr: undefined })))).toBe(
      'Redis pool "default": unknown option `ulr` (did you mean `url`?)',
    );
    expect(configError(() => new ConnectionPool(loose({ colour: 'blue' })))).toMatch(
      /^Redis pool "default": unknown option `colour` \(known: name, url, host, port, .*readOnly, expectRole, clientSideCache\)$/,
    );
  });

  it('checks the keys of retry and decoderLimits too', () => {
    expect(
      configError(() => new ConnectionPool(loose({ name: 'jobs', retry: { attemps: 2 } }))),
    ).toBe('Redis pool "jobs": unknown option `retry.attemps` (did you mean `retry.attempts`?)');
    expect(configError(() => new ConnectionPool(loose({ decoderLimits: { maxDeph: 10 } })))).toBe(
      'Redis pool "default": unknown option `decoderLimits.maxDeph` (did you mean `decoderLimits.maxDepth`?)',
    );
  });

  it.each([
    [
      { port: '6391' },
      'Redis pool "default": option port: "6391" (string) must be an integer from 1 to 65535 ' +
        '(environment variables are strings: convert it with Number())',
    ],
    [
      { maxConnections: 0 },
      'Redis pool "default": option maxConnections: 0 (number) must be at least 1',
    ],
    [
      { name: 'cache', maxConnections: '20' },
      'Redis pool "cache": option maxConnections: "20" (string) must be a non-negative integer ' +
        '(environment variables are strings: convert it with Number())',
    ],
    [{ db: null }, 'Redis pool "default": option db: null (null) must be a non-negative integer'],
    [
      { protocol: '3' },
      'Redis pool "default": option protocol: "3" (string) must be 2 or 3 ' +
        '(environment variables are strings: convert it with Number())',
    ],
    [{ host: 6379 }, 'Redis pool "default": option host: 6379 (number) must be a non-empty string'],
    [
      { tls: 'yes' },
      'Redis pool "default": option tls: (not shown) (string) must be true, false or Node\'s tls.ConnectionOptions',
    ],
    [{ readOnly: 1 }, 'Redis pool "default": option readOnly: 1 (number) must be true or false'],
    [
      { retry: { attempts: -1 } },
      'Redis pool "default": option retry.attempts: -1 (number) must be a non-negative integer of at most 2147483647',
    ],
    [
      { decoderLimits: { maxDepth: 0 } },
      'Redis pool "default": option decoderLimits.maxDepth: 0 (number) must be a positive integer',
    ],
    [{ retry: [3] }, 'Redis pool "default": option retry must be an object, not an array'],
  ])('a bad value shows its key, value and type: %p', (options, message) => {
    expect(configError(() => new ConnectionPool(loose(options)))).toBe(message);
  });

  it("never shows a secret's value, whatever its type", () => {
    for (const password of [123456789, ['hunter2-pw'], { secret: 'hunter2-pw' }]) {
      const message = configError(() => new ConnectionPool(loose({ password })));
      expect(message).toMatch(
        /^Redis pool "default": option password: \(not shown\) \(\w+\) must be a string$/,
      );
      expect(message).not.toMatch(/123456789|hunter2/);
    }
    const url = configError(() => new ConnectionPool(loose({ url: 42 })));
    expect(url).toBe(
      'Redis pool "default": option url: (not shown) (number) must be a non-empty string',
    );
  });

  it('refuses something that is not an options object, with a hint for a URL', () => {
    expect(configError(() => new ConnectionPool('redis://h' as unknown as PoolOptions))).toBe(
      'Redis pool "default": the options must be an object, not a string ' +
        '(for a URL, pass { url } or use ConnectionPool.fromUrl(url))',
    );
  });
});

describe('URLs', () => {
  it.each([undefined, '', '   ', null])(
    'ConnectionPool.fromUrl(%p) throws instead of meaning localhost',
    (url) => {
      const message = configError(() => ConnectionPool.fromUrl(url as unknown as string));
      expect(message).toMatch(
        /^Redis pool "default": ConnectionPool\.fromUrl\(\) needs a URL such as redis:\/\/localhost:6379, not (undefined|an empty string|null) \(is an environment variable such as REDIS_URL unset or empty\?\)$/,
      );
    },
  );

  it('puts the pool name in fromUrl errors and URL errors', () => {
    expect(configError(() => ConnectionPool.fromUrl('', { name: 'cache' }))).toMatch(
      /^Redis pool "cache": ConnectionPool\.fromUrl\(\) needs a URL/,
    );
    expect(configError(() => ConnectionPool.fromUrl('redis://h:0', { name: 'cache' }))).toBe(
      'Redis pool "cache": invalid Redis URL redis://h:0: port 0 is out of range',
    );
  });

  it('an empty url option is an error; an undefined one means no URL', async () => {
    expect(configError(() => new ConnectionPool({ url: '' }))).toBe(
      'Redis pool "default": option url: "" (string) must be a redis://, rediss:// or unix:// URL (is REDIS_URL set but empty?)',
    );
    const pool = new ConnectionPool({ url: undefined, port: 1 });
    expect(pool.address).toBe('localhost:1');
    await pool.disconnect();
  });

  it.each([
    [
      'localhost:6379',
      'Redis pool "default": invalid Redis URL localhost:6379: missing redis:// (or rediss://, unix://) at the start (write redis://localhost:6379)',
    ],
    [
      '127.0.0.1:6379/2',
      'Redis pool "default": invalid Redis URL 127.0.0.1:6379/2: missing redis:// (or rediss://, unix://) at the start',
    ],
    [
      'alice:Gh5Jk8Lz2@cache.internal:6380',
      'Redis pool "default": invalid Redis URL alice:****@cache.internal:6380: missing redis:// (or rediss://, unix://) at the start (write redis://alice:****@cache.internal:6380)',
    ],
  ])('a URL without a scheme gets a "missing redis://" hint: %s', (url, message) => {
    const text = configError(() => new ConnectionPool({ url }));
    expect(text).toBe(message);
    expect(text).not.toContain('Gh5');
  });

  it('an unknown query key names the one meant, or says where an option goes instead', () => {
    expect(configError(() => parseRedisUrl('redis://h?maxconnections=5'))).toBe(
      'Invalid Redis URL redis://h?maxconnections=5: unknown query parameter "maxconnections" (did you mean `maxConnections`?)',
    );
    expect(configError(() => ConnectionPool.fromUrl('redis://h?tls=true'))).toBe(
      'Redis pool "default": invalid Redis URL redis://h?tls=true: unknown query parameter "tls": tls is an option but not a query key (rediss:// means TLS; certificates go in the tls option)',
    );
    expect(configError(() => parseRedisUrl('redis://h?retry=3'))).toMatch(
      /"retry": retry is an option but not a query key \(pass it as an option\)$/,
    );
  });

  it('the README lists exactly the query keys a URL takes (and each is one)', async () => {
    const readme = readFileSync(join(__dirname, '../../README.md'), 'utf8');
    const paragraph = /A URL's query keys are ([\s\S]*?)\(`redis:/.exec(readme)?.[1] ?? '';
    const listed = [...paragraph.matchAll(/`(\w+)`/g)].map((m) => m[1]);
    expect(listed.length).toBeGreaterThan(10);
    const values: Record<string, string> = { protocol: '3', dispatch: 'exclusive' };
    for (const key of listed) {
      const value = values[key] ?? (/^(username|password|clientName)$/.test(key) ? 'x' : '1');
      expect(() => parseRedisUrl(`redis://h?${key}=${value}`)).not.toThrow();
    }
    const unknown = configError(() => parseRedisUrl('redis://h?zzzz=1'));
    const known = /\(known: ([^)]*)\)/.exec(unknown)?.[1].split(', ');
    expect(known?.sort()).toEqual([...listed].sort());
  });
});

describe('cluster options', () => {
  it('checks the node options and its own keys at construction, naming the pool', () => {
    const nodes = [{ host: '127.0.0.1', port: 7000 }];
    expect(
      configError(() => new ClusterPool({ nodes, maxConections: 2 } as unknown as { nodes: [] })),
    ).toBe('Redis pool "default": unknown option `maxConections` (did you mean `maxConnections`?)');
    expect(
      configError(
        () => new ClusterPool({ nodes, refreshIntervallMs: 5 } as unknown as { nodes: [] }),
      ),
    ).toBe(
      'Redis pool "default": unknown option `refreshIntervallMs` (did you mean `refreshIntervalMs`?)',
    );
    expect(
      configError(() => new ClusterPool({ name: 'c', nodes, maxConnections: '4' as unknown as 4 })),
    ).toMatch(
      /^Redis pool "c": option maxConnections: "4" \(string\) must be a non-negative integer/,
    );
    expect(configError(() => new ClusterPool({ name: 'c', nodes: [] }))).toBe(
      'Redis pool "c": option cluster.nodes must list at least one { host, port }',
    );
    expect(
      configError(() => new ClusterPool({ nodes, host: 'h' } as unknown as { nodes: [] })),
    ).toBe('Redis pool "default": a cluster pool takes no host: list the seed nodes in nodes');
    expect(configError(() => ClusterPool.fromUrls([undefined as unknown as string]))).toMatch(
      /^Redis pool "default": ClusterPool\.fromUrls\(\) needs a URL such as redis:\/\/localhost:6379, not undefined/,
    );
  });
});

describe('errors carry no command: undefined', () => {
  it('a ResponseError without a command has no such property', () => {
    const reply = new ResponseError('ERR something');
    expect('command' in reply).toBe(false);
    expect(inspect(reply)).not.toContain('command');
    expect(JSON.stringify(reply)).not.toContain('command');
  });
});
