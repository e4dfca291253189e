import { AbortError } from '../../lib/errors/redis-pool.errors';
import { ResponseError } from '../../lib/errors/redis-pool.errors';
import { RedisService } from '../../lib/client/redis.service';
import { ConnectionPool } from '../../lib/pool/connection-pool';
import { useRedisServer } from '../harness';
import { PROTOCOLS, key, rejectionOf, sleep, useService, waitFor } from './client-helpers';

describe.each(PROTOCOLS)('RedisService blocking commands (RESP%i)', (protocol) => {
  const server = useRedisServer();
  const redis = useService(server, protocol, { maxConnections: 3 });

  it('blpop blocks a leased connection while the shared path keeps serving GETs', async () => {
    const [q, k] = [key('q'), key()];
    await redis().set(k, 'still served');
    let popped = false;
    const pop = redis()
      .blpop(q, 5)
      .then((value) => {
        popped = true;
        return value;
      });
    await waitFor(() => redis().pool.stats().leased === 1, 1000, 'the lease');
    const started = Date.now();
    const values = await Promise.all(Array.from({ length: 1000 }, () => redis().get(k)));
    expect(Date.now() - started).toBeLessThan(1000);
    expect(values.every((v) => v === 'still served')).toBe(true);
    expect(popped).toBe(false);
    await redis().rpush(q, 'job-1');
    await expect(pop).resolves.toEqual({ key: q, element: 'job-1' });
    await waitFor(() => redis().pool.stats().leased === 0, 1000, 'the lease to come back');
  });

  it('blpop/brpop over several keys, null on timeout', async () => {
    const [a, b] = [key('{q}a'), key('{q}b')];
    await expect(redis().blpop([a, b], 0.05)).resolves.toBeNull();
    await redis().rpush(b, 'x', 'y');
    await expect(redis().blpop([a, b], 1)).resolves.toEqual({ key: b, element: 'x' });
    await expect(redis().brpop([a, b], 1)).resolves.toEqual({ key: b, element: 'y' });
    await expect(redis().brpop([a, b], 0.05)).resolves.toBeNull();
  });

  it('with commandTimeoutMs: 0 (no deadline) a blocking command waits its whole block time, then null', async () => {
    const pool = new ConnectionPool({
      host: server().host,
      port: server().port,
      protocol,
      commandTimeoutMs: 0,
    });
    try {
      const untimed = new RedisService(pool);
      const q = key('q');
      // A deadline of exactly the block time would race the server's own timeout reply and often win.
      const replies = await Promise.all([
        ...Array.from({ length: 4 }, () => untimed.blpop(q, 0.2)),
        ...Array.from({ length: 4 }, () => untimed.bzpopmin(q, 0.2)),
      ]);
      expect(replies).toEqual(Array(8).fill(null));
    } finally {
      await pool.disconnect();
    }
  });

  it('blmove waits for an element and moves it', async () => {
    const [src, dst] = [key('{m}src'), key('{m}dst')];
    const moved = redis().blmove(src, dst, 'LEFT', 'RIGHT', 2);
    await sleep(30);
    await redis().rpush(src, 'a');
    await expect(moved).resolves.toBe('a');
    await expect(redis().lrange(dst, 0, -1)).resolves.toEqual(['a']);
    await expect(redis().blmove(src, dst, 'LEFT', 'RIGHT', 0.05)).resolves.toBeNull();
  });

  it('bzpopmin and bzpopmax give { key, member, score }', async () => {
    const z = key('z');
    const waiting = redis().bzpopmin(z, 2);
    await sleep(30);
    await redis().zadd(z, [
      { score: 2.5, member: 'b' },
      { score: 1, member: 'a' },
    ]);
    await expect(waiting).resolves.toEqual({ key: z, member: 'a', score: 1 });
    await expect(redis().bzpopmax([key(), z], 1)).resolves.toEqual({
      key: z,
      member: 'b',
      score: 2.5,
    });
    await expect(redis().bzpopmin(z, 0.05)).resolves.toBeNull();
  });

  it('xread with block waits for new entries on a lease; [] when the block times out', async () => {
    const s = key('s');
    await redis().xadd(s, '1-0', { old: '1' });
    const reading = redis().xread({ [s]: '$' }, { block: 2000, count: 10 });
    await sleep(30);
    await redis().xadd(s, '2-0', { fresh: 'yes' });
    const batches = await reading;
    expect(batches).toHaveLength(1);
    expect(batches[0].entries.map((e) => [e.id, { ...e.fields }])).toEqual([
      ['2-0', { fresh: 'yes' }],
    ]);
    await expect(redis().xread({ [s]: '$' }, { block: 50 })).resolves.toEqual([]);
  });

  it('xreadgroup with block', async () => {
    const s = key('s');
    await redis().xgroupCreate(s, 'g', '$', { mkstream: true });
    const reading = redis().xreadgroup('g', 'c', { [s]: '>' }, { block: 2000 });
    await sleep(30);
    await redis().xadd(s, '5-0', { job: 'j' });
    const [batch] = await reading;
    expect(batch.key).toBe(s);
    expect(batch.entries[0].id).toBe('5-0');
    expect(batch.entries[0].fields?.['job']).toBe('j');
    await expect(redis().xreadgroup('g', 'c', { [s]: '>' }, { block: 50 })).resolves.toEqual([]);
  });

  it('an AbortSignal ends a blocked pop at once and discards its lease', async () => {
    const q = key('q');
    const controller = new AbortController();
    const pop = redis().withOptions({ signal: controller.signal }).blpop(q, 0);
    await waitFor(() => redis().pool.stats().leased === 1, 1000, 'the lease');
    controller.abort();
    await expect(rejectionOf(pop)).resolves.toBeInstanceOf(AbortError);
    await waitFor(() => redis().pool.stats().leased === 0, 1000, 'the lease to be discarded');
    await waitFor(
      async () => (await redis().info('clients'))['clients']['blocked_clients'] === '0',
      1000,
      'the server to drop the blocked client',
    );
    // The element is not swallowed by the abandoned BLPOP: its connection is gone.
    await redis().rpush(q, 'kept');
    await expect(redis().lrange(q, 0, -1)).resolves.toEqual(['kept']);
  });

  it('inside withConnection, blocking helpers use that connection', async () => {
    const q = key('q');
    const result = await redis().withConnection(async (client) => {
      const pop = client.blpop(q, 2);
      await sleep(30);
      expect(redis().pool.stats().leased).toBe(1);
      await redis().rpush(q, 'v');
      return pop;
    });
    expect(result).toEqual({ key: q, element: 'v' });
  });

  it('the callback gets the Connection surface too: id, executeCommandBuffer, disconnect', async () => {
    const q = key('bin');
    await redis().rpush(q, Buffer.from([0, 255]));
    const id = await redis().withConnection(async (client) => {
      expect(client.id).toBe(client.connection.id);
      expect(await client.executeCommandBuffer('LINDEX', q, 0)).toEqual(Buffer.from([0, 255]));
      await client.disconnect();
      return client.id;
    });
    // The closed connection was discarded, not handed to the next borrower.
    await redis().withConnection(async (client) => {
      expect(client.id).not.toBe(id);
      expect(await client.executeCommand('PING')).toBe('PONG');
    });
  });

  it('WRONGTYPE from a blocking command', async () => {
    const k = key();
    await redis().set(k, 'v');
    const error = await rejectionOf(redis().blpop(k, 1));
    expect((error as ResponseError).code).toBe('WRONGTYPE');
  });
});
