// The README's "Redis Cluster" example, run as a test (test/readme.spec.ts keeps them equal).
import assert from 'node:assert/strict';
import { RedisService } from '../../lib/client';
import { ClusterPool } from '../../lib/cluster/cluster-pool';
import { ClusterError } from '../../lib/errors/redis-pool.errors';
import { useRedisCluster } from '../harness';

describe('README cluster example', () => {
  const cluster = useRedisCluster();

  it('runs as written', async () => {
    process.env.REDIS_CLUSTER_URLS = cluster()
      .seeds()
      .map(({ host, port }) => `redis://${host}:${port}`)
      .join(',');
    // --- README cluster start ---
    const urls = (process.env.REDIS_CLUSTER_URLS ?? 'redis://127.0.0.1:7000').split(',');
    const pool = ClusterPool.fromUrls(urls, { maxConnections: 4 }); // 4 connections per node at most
    const redis = new RedisService(pool);

    // Each command goes to the master serving its key's hash slot; MOVED and ASK are followed for you.
    await redis.set('user:1:name', 'ada');
    assert.equal(await redis.get('user:1:name'), 'ada');

    // Multi-key commands and transactions need one slot: a {hash tag} puts keys together.
    await redis.mset({ '{user:1}name': 'ada', '{user:1}lang': 'en' });
    const [lang, visits] = (await redis.multi().get('{user:1}lang').incr('{user:1}visits').exec())!;
    assert.deepEqual([lang, visits], ['en', 1]);
    await assert.rejects(redis.mset({ a: '1', b: '2' }), ClusterError); // CROSSSLOT, refused before sending

    // MGET, DEL, UNLINK, EXISTS and TOUCH across slots are split per slot, their replies put back in your order.
    assert.deepEqual(await redis.mget('user:1:name', 'nope', '{user:1}lang'), ['ada', null, 'en']);
    // MSET across slots only when asked: each slot's part is atomic, the whole call is not.
    await redis.withOptions({ splitAcrossSlots: true }).mset({ a: '1', b: '2' });

    // Pipelines are split per node and come back in your order; SCAN walks every master.
    const results = await redis.pipeline().set('a', '1').set('b', '2').get('a').get('b').exec();
    assert.deepEqual(results, ['OK', 'OK', '1', '2']);
    const keys: string[] = [];
    for await (const key of redis.scanIterator({ match: 'user:*' })) keys.push(key);
    assert.deepEqual(keys, ['user:1:name']);

    // DBSIZE, KEYS, FLUSHALL, SCRIPT LOAD... go to every master (or node) and their replies are combined.
    assert.equal(await redis.executeCommand('DBSIZE'), 6);

    await pool.disconnect();
    // --- README cluster end ---
    assert.equal(pool.stats().total, 0);
  });
});
