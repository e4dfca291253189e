import type { INestApplication } from '@nestjs/common';
import request from 'supertest';
import { ConnectionPool } from '../../lib/pool/connection-pool';
import { AppModule } from '../../sample/app.module';
import { useRedisServer } from '../harness';
import { bootApp, closeApp, closeApps, connectionsNamed } from './nest-helpers';

describe('sample app', () => {
  const saved = { REDIS_URL: process.env.REDIS_URL, CACHE_REDIS_URL: process.env.CACHE_REDIS_URL };
  let app: INestApplication;

  // Before the server's own hooks, so that this one runs first: the app closes while Redis is still up (a BullMQ
  // Worker's close() waits for Redis, with ioredis as with us: taskforcesh/bullmq#4656).
  afterAll(async () => {
    await closeApps();
    for (const [key, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  });

  const server = useRedisServer();

  beforeAll(async () => {
    // The sample reads its configuration from the environment: point it at the throwaway server.
    process.env.REDIS_URL = server().url;
    delete process.env.CACHE_REDIS_URL;
    ({ app } = await bootApp({ imports: [AppModule] }));
  });

  const http = () => request(app.getHttpServer());

  it('lists its endpoints', async () => {
    const response = await http().get('/').expect(200);
    expect(response.body).toEqual({
      endpoints: [
        '/visits',
        '/greeting',
        '/limited',
        '/stats',
        '/catalog/42',
        '/jobs/welcome?to=ada@example.com',
        '/health',
      ],
    });
  });

  it('counts visits on the default pool', async () => {
    expect((await http().get('/visits').expect(200)).body).toEqual({ visits: 1 });
    expect((await http().get('/visits').expect(200)).body).toEqual({ visits: 2 });
    expect(await server().cli('GET', 'sample:visits')).toBe('2');
  });

  it('serves a cached lookup from the named cache pool', async () => {
    const first = await http().get('/catalog/42').expect(200);
    expect(first.body).toEqual({
      product: { id: '42', name: 'Product 42', price: 17 },
      cached: false,
    });
    const second = await http().get('/catalog/42').expect(200);
    expect(second.body).toEqual({ ...first.body, cached: true });
    expect(Number(await server().cli('TTL', 'sample:product:42'))).toBeGreaterThan(0);
    expect(await connectionsNamed(server(), 'sample-cache')).toBeGreaterThanOrEqual(1);
  });

  it('caches /greeting in Redis through cache-manager on the default pool', async () => {
    const first = (await http().get('/greeting').expect(200)).body;
    const second = (await http().get('/greeting').expect(200)).body;
    expect(second).toEqual(first);
    const keys = await server().cli('KEYS', 'sample-cache::*');
    expect(keys).toContain('/greeting');
    const ttl = Number(await server().cli('PTTL', keys.split('\n')[0]));
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(10_000);
  });

  it('rate-limits /limited in Redis: the fourth request in 10 s gets 429 with Retry-After', async () => {
    for (let i = 0; i < 3; i++) await http().get('/limited').expect(200);
    const refused = await http().get('/limited');
    expect(refused.status).toBe(429);
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    expect(await server().cli('KEYS', 'sample:throttle:*')).not.toBe('');
  });

  it('runs a BullMQ job on the default pool: queued, processed once, its result readable', async () => {
    const queued = await http().get('/jobs/welcome?to=ada@example.com').expect(200);
    const id = String(queued.body.id);
    let status = (await http().get(`/jobs/${id}`).expect(200)).body;
    const deadline = Date.now() + 10_000;
    while (status.state !== 'completed' && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      status = (await http().get(`/jobs/${id}`).expect(200)).body;
    }
    expect(status).toEqual({
      id,
      state: 'completed',
      result: { sentTo: 'ada@example.com', sent: 1 },
    });
    expect(await server().cli('GET', 'sample:welcome:sent')).toBe('1');
    expect(await server().cli('EXISTS', `sample:bull:sample-welcome:${id}`)).toBe('1');
    await http().get('/jobs/no-such-job').expect(404);
  });

  it('runs cache, throttler, the queue and commands on its two pools only: CLIENT LIST shows no other connection', async () => {
    const names = (await server().clientList()).map((client) => client.name);
    expect(names.length).toBeGreaterThan(0);
    // The Worker's blocking connection is a lease of the default pool, named by BullMQ (CLIENT SETNAME <prefix>:<queue>).
    expect(names.filter((name) => name.startsWith('sample:bull:'))).toHaveLength(1);
    expect(new Set(names.filter((name) => !name.startsWith('sample:bull:')))).toEqual(
      new Set(['sample', 'sample-cache']),
    );
    expect(app.get(ConnectionPool).stats().leased).toBe(1);
  });

  it('shows the same pool from the stats feature module', async () => {
    const response = await http().get('/stats').expect(200);
    expect(response.body).toEqual({
      visits: 2,
      pool: expect.objectContaining({ total: expect.any(Number), maxConnections: 10 }),
    });
  });

  it('reports both pools healthy', async () => {
    const response = await http().get('/health').expect(200);
    expect(response.body).toMatchObject({
      status: 'ok',
      info: { redis: { status: 'up' }, 'redis-cache': { status: 'up', maxConnections: 4 } },
    });
  });

  it('answers 503 with the reason while Redis is down, and recovers', async () => {
    await server().stop();
    try {
      const visits = await http().get('/visits');
      expect(visits.status).toBe(503);
      expect(visits.body).toEqual({
        statusCode: 503,
        error: 'Service Unavailable',
        message: 'Redis is unavailable',
      });
      expect((await http().get('/health')).status).toBe(503);
    } finally {
      await server().start();
    }
    const deadline = Date.now() + 5000;
    while ((await http().get('/health')).status !== 200 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect((await http().get('/visits')).status).toBe(200);
  });

  it('closes both pools on shutdown', async () => {
    // Counted by pool, not by name: an idle shared connection may have become the Worker's lease (and been renamed
    // by BullMQ) since the restart.
    expect(app.get(ConnectionPool).stats().total).toBeGreaterThanOrEqual(1);
    expect((await server().clientList()).length).toBeGreaterThanOrEqual(1);
    await closeApp(app);
    expect(await connectionsNamed(server(), 'sample')).toBe(0);
    expect(await connectionsNamed(server(), 'sample-cache')).toBe(0);
    // The Worker's lease too: nothing of the app is left connected.
    expect(await server().clientList()).toEqual([]);
  });
});
