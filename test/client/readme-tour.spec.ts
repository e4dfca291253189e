// The README's tour, run as a test. Between the markers the code is exactly the README's, except the import
// lines (the README imports from 'nestjs-redis-pool').
import assert from 'node:assert/strict';
import { RedisService } from '../../lib/client';
import { ResponseError } from '../../lib/errors/redis-pool.errors';
import { ConnectionPool } from '../../lib/pool/connection-pool';
import { useRedisServer } from '../harness';

describe('README tour', () => {
  const server = useRedisServer();

  it('runs as written', async () => {
    process.env.REDIS_URL = server().url;
    // --- README tour start ---
    const pool = ConnectionPool.fromUrl(process.env.REDIS_URL ?? 'redis://localhost:6379');
    const redis = new RedisService(pool);

    // Strings and keys
    await redis.set('tour:greeting', 'hello', { ex: 60 });
    assert.equal(await redis.get('tour:greeting'), 'hello');
    assert.equal(await redis.incr('tour:visits'), 1);

    // Hashes: HGETALL is a null-prototype object under RESP2 and RESP3 alike
    await redis.hset('tour:user:1', { name: 'Ada', lang: 'en' });
    assert.deepEqual({ ...(await redis.hgetall('tour:user:1')) }, { name: 'Ada', lang: 'en' });

    // Pipeline: one round trip, one result per command, errors in place
    const [ok, visits, wrong] = await redis
      .pipeline()
      .set('tour:list', 'not a list')
      .incr('tour:visits')
      .lpush('tour:list', 'x')
      .exec();
    assert.equal(ok, 'OK');
    assert.equal(visits, 2);
    assert.ok(wrong instanceof ResponseError && wrong.code === 'WRONGTYPE');

    // Transaction with optimistic locking: re-run when another client changed the key meanwhile
    await redis.set('tour:balance', 100);
    await redis.watch(
      'tour:balance',
      async (tx) => {
        const balance = Number(await tx.get('tour:balance'));
        return tx
          .multi()
          .set('tour:balance', balance - 10)
          .exec();
      },
      { retries: 5 },
    );
    assert.equal(await redis.get('tour:balance'), '90');

    // Pub/sub on a dedicated connection, resubscribed after reconnects
    let onNews!: (message: string) => void;
    const news = new Promise<string>((resolve) => (onNews = resolve));
    const subscription = await redis.subscribe('tour:news', (message) => onNews(message));
    assert.equal(await redis.publish('tour:news', 'hello subscribers'), 1);
    assert.equal(await news, 'hello subscribers');
    await subscription.unsubscribe();

    // Blocking pop on a leased connection; the shared connections keep serving everyone else
    const job = redis.blpop('tour:jobs', 5);
    await redis.rpush('tour:jobs', 'job-1');
    assert.deepEqual(await job, { key: 'tour:jobs', element: 'job-1' });

    // Lua script: EVALSHA, reloaded with EVAL after SCRIPT FLUSH or a server restart
    const incrBy = redis.defineScript("return redis.call('INCRBY', KEYS[1], ARGV[1])", {
      numberOfKeys: 1,
    });
    assert.equal(await incrBy(['tour:counter'], [5]), 5);

    // SCAN as an async iterator, page by page (a `break` stops it with nothing left in flight)
    const keys: string[] = [];
    for await (const key of redis.scanIterator({ match: 'tour:user:*', count: 100 })) {
      keys.push(key);
    }
    assert.deepEqual(keys, ['tour:user:1']);

    await pool.disconnect();
    // --- README tour end ---
  });
});
