// The README's "Using the pool without Nest" example, run as a test (test/readme.spec.ts keeps them equal).
import assert from 'node:assert/strict';
import { RedisService } from '../../lib/client';
import { ConnectionPool } from '../../lib/pool/connection-pool';
import { useRedisServer } from '../harness';

describe('README core example', () => {
  const server = useRedisServer();

  it('runs as written', async () => {
    process.env.REDIS_URL = server().url;
    // --- README core start ---
    const pool = ConnectionPool.fromUrl(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', {
      maxConnections: 10,
    });
    const redis = new RedisService(pool);

    // Multiplexed: every caller's commands share a few connections, pipelined, one socket write per turn.
    await redis.set('greeting', 'hello');
    assert.equal(await pool.executeCommand('GET', 'greeting'), 'hello');

    // Leased: blocking and stateful commands get a connection of their own, always given back.
    await redis.rpush('jobs', 'job-1');
    const job = await pool.withConnection((c) => c.executeCommand('BLPOP', 'jobs', 5));
    assert.deepEqual(job, ['jobs', 'job-1']);

    // Or redis-py style: getConnection() and release().
    const connection = await pool.getConnection();
    try {
      await connection.executeCommand('SELECT', 2); // undone on release: the next borrower is on db 0
    } finally {
      pool.release(connection);
    }

    await pool.disconnect(); // drains in-flight work, then closes every socket
    // --- README core end ---
    assert.equal(pool.stats().total, 0);
  });
});
