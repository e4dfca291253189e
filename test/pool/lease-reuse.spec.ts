import { RedisService } from '../../lib/client/redis.service';
import { ConnectionPool } from '../../lib/pool/connection-pool';
import { useRedisServer } from '../harness';
import { expectNothingOpen, uniqueName, watchUnhandledRejections } from './pool-checks';

/**
 * A lease returned while the shared set is full is kept for the next lease (within `maxLeases`) instead of being
 * closed: pipelines and transactions beside a busy shared path do not open a connection each.
 */
describe('lease reuse', () => {
  watchUnhandledRejections();
  const server = useRedisServer();
  let pool: ConnectionPool;
  let name: string;

  afterEach(async () => {
    await expectNothingOpen(pool, server(), name);
  });

  it('200 pipelines while every shared connection is busy open at most maxLeases more connections', async () => {
    name = uniqueName('reuse');
    pool = new ConnectionPool({
      url: server().url,
      clientName: name,
      maxConnections: 2,
      maxLeases: 3,
    });
    const redis = new RedisService(pool);
    const connects: number[] = [];
    pool.on('connect', (id: number) => connects.push(id));
    let busy = true;
    // Keeps both shared connections with replies outstanding, so no shared connection is ever idle to lease.
    const load = (async () => {
      while (busy) {
        await Promise.all(Array.from({ length: 300 }, (_, i) => redis.incr(`reuse:load:${i % 7}`)));
      }
    })();
    for (let i = 0; i < 200; i++) {
      const [set, get] = await redis
        .pipeline()
        .set(`reuse:${i}`, String(i))
        .get(`reuse:${i}`)
        .exec();
      expect([set, get]).toEqual(['OK', String(i)]);
    }
    busy = false;
    await load;
    expect(connects.length).toBeLessThanOrEqual(2 + 3);
    expect(pool.stats()).toMatchObject({ leased: 0, maxLeases: 3 });
  });
});
