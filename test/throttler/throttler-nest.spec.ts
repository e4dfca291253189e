import type { INestApplication } from '@nestjs/common';
import { RedisService } from '../../lib/client/redis.service';
import { startRedisServer, useRedisServer } from '../harness';
import { bootApp, closeApps, unique } from '../nest/nest-helpers';
import {
  bootThrottledApp,
  ping,
  pingUntilAllowed,
  throttledAppModule,
  type ThrottledAppOptions,
} from './throttler-app';

describe('ThrottlerGuard with RedisThrottlerStorage, one Redis', () => {
  const server = useRedisServer();
  afterEach(() => closeApps());

  const options = (overrides: Partial<ThrottledAppOptions> = {}): ThrottledAppOptions => ({
    redis: { url: server().url, maxConnections: 4 },
    keyPrefix: unique('rl'),
    throttlers: [{ ttl: 10_000, limit: 3, blockDuration: 2000 }],
    ...overrides,
  });

  it('answers 429 with Retry-After after limit requests, then lets requests through when the block ends', async () => {
    const app = await bootThrottledApp(options());
    for (const remaining of ['2', '1', '0']) {
      const response = await ping(app).expect(200, { pong: true });
      expect(response.headers['x-ratelimit-limit']).toBe('3');
      expect(response.headers['x-ratelimit-remaining']).toBe(remaining);
      expect(response.headers['x-ratelimit-reset']).toBe('10');
    }
    const blockedAt = Date.now();
    const refused = await ping(app).expect(429);
    expect(refused.headers['retry-after']).toBe('2');
    expect(refused.body).toMatchObject({ statusCode: 429 });
    await new Promise((resolve) => setTimeout(resolve, 300));
    const later = await ping(app).expect(429);
    expect(later.headers['retry-after']).toBe('2'); // 1.7 s or so left: whole seconds, rounded up
    await ping(app, 'bob').expect(200); // another client has its own count
    const allowedAt = await pingUntilAllowed(app, 'alice', 8000);
    expect(allowedAt - blockedAt).toBeGreaterThanOrEqual(2000 - 5);
    const after = await ping(app).expect(200);
    expect(after.headers['x-ratelimit-remaining']).toBe('1'); // counted afresh
  });

  it('shares the limit between two app instances on one Redis', async () => {
    const shared = options();
    const first = await bootThrottledApp(shared);
    const second = await bootThrottledApp(shared);
    await ping(first).expect(200);
    await ping(second).expect(200);
    const third = await ping(first).expect(200);
    expect(third.headers['x-ratelimit-remaining']).toBe('0');
    const refused = await ping(second).expect(429);
    expect(refused.headers['retry-after']).toBe('2');
    await ping(first).expect(429);
    const blockedAt = Date.now();
    await pingUntilAllowed(second, 'alice', 8000);
    await ping(first).expect(200);
    await ping(second).expect(200);
    await ping(first).expect(429);
    expect(Date.now() - blockedAt).toBeLessThan(8000);
  });

  it('shares concurrent bursts exactly: 2 apps × 20 requests, limit 25, 25 pass', async () => {
    const shared = options({ throttlers: [{ ttl: 30_000, limit: 25, blockDuration: 30_000 }] });
    const apps: INestApplication[] = [
      await bootThrottledApp(shared),
      await bootThrottledApp(shared),
    ];
    const statuses = await Promise.all(
      Array.from({ length: 40 }, (_, i) => ping(apps[i % 2]).then((r) => r.status)),
    );
    expect(statuses.filter((s) => s === 200)).toHaveLength(25);
    expect(statuses.filter((s) => s === 429)).toHaveLength(15);
  });

  it('keeps named throttlers apart, with their own headers', async () => {
    const settings = options({
      throttlers: [
        { name: 'burst', ttl: 5000, limit: 1, blockDuration: 3000 },
        { name: 'sustained', ttl: 60_000, limit: 100 },
      ],
    });
    const app = await bootThrottledApp(settings);
    const ok = await ping(app).expect(200);
    expect(ok.headers['x-ratelimit-remaining-burst']).toBe('0');
    expect(ok.headers['x-ratelimit-remaining-sustained']).toBe('99');
    const refused = await ping(app).expect(429);
    expect(refused.headers['retry-after-burst']).toBe('3');
    expect(refused.headers['retry-after-sustained']).toBeUndefined();
    const redis = app.get(RedisService);
    const keys: string[] = [];
    for await (const key of redis.scanIterator({ match: `${settings.keyPrefix}:*` }))
      keys.push(key);
    // One record per throttler, named by the prefix, the throttler and the guard's SHA-256 key.
    expect(keys.map((k) => k.replace(/^[\w-]+:(\w+):[0-9a-f]{64}$/, '$1')).sort()).toEqual([
      'burst',
      'sustained',
    ]);
  });

  it('answers 500 at once while Redis is down (the error propagates, nothing hangs), and throttles again after', async () => {
    const lone = await startRedisServer();
    try {
      const { app, logs } = await bootApp({
        imports: [
          throttledAppModule(
            options({
              redis: {
                url: lone.url,
                connectTimeoutMs: 500,
                retry: { attempts: 2, baseDelayMs: 20, maxDelayMs: 100 },
              },
            }),
          ),
        ],
      });
      await ping(app).expect(200);
      await lone.kill();
      const started = Date.now();
      const down = await ping(app);
      expect(down.status).toBe(500);
      expect(Date.now() - started).toBeLessThan(5000);
      // The storage's ConnectionError reached Nest's exception handler as it is.
      expect(logs.lines('error', 'ExceptionsHandler')).toEqual([
        expect.stringMatching(/^Connection to 127\.0\.0\.1:\d+ failed/),
      ]);
      await lone.start();
      const deadline = Date.now() + 10_000;
      let status = 0;
      while (status !== 200 && Date.now() < deadline) status = (await ping(app)).status;
      expect(status).toBe(200);
    } finally {
      await closeApps();
      await lone.dispose();
    }
  });
});
