import { Readable } from 'node:stream';
import {
  BullMqClient,
  BullMqConnectionClosedError,
  CONNECTION_CLOSED_MESSAGE,
  UnknownScriptError,
} from '../../lib/bullmq';
import { RedisService } from '../../lib/client/redis.service';
import {
  CommandNotAllowedError,
  ConnectionError,
  RedisError,
  ResponseError,
} from '../../lib/errors/redis-pool.errors';
import { ConnectionPool } from '../../lib/pool/connection-pool';
import { useRedisServer } from '../harness';

/** The shapes BullMQ expects (its ioredis reference adapter's), on RESP2 and RESP3 pools alike. */
describe.each([2, 3] as const)('BullMqClient commands (protocol %i)', (protocol) => {
  const server = useRedisServer();
  let pool: ConnectionPool;
  let client: BullMqClient;

  beforeAll(() => {
    pool = new ConnectionPool({ port: server().port, host: server().host, protocol });
    client = new BullMqClient(new RedisService(pool));
  });
  beforeEach(() => server().cli('FLUSHALL'));
  afterAll(() => pool.disconnect());

  it('is ready at once, not a cluster, and shows no pool options', async () => {
    expect(client.status).toBe('ready');
    expect(client.isCluster).toBe(false);
    expect(client.options).toEqual({ maxRetriesPerRequest: null });
    await client.connect();
    expect(client.nodes()).toEqual([client]);
  });

  it('hashes, strings and keys', async () => {
    expect(await client.hset('h', { a: 1, b: 2.5, c: 'x' })).toBe(3);
    expect(await client.hset('h', 'd', 4)).toBe(1);
    const all = await client.hgetall('h');
    expect(all).toEqual({ a: '1', b: '2.5', c: 'x', d: '4' });
    expect(Object.getPrototypeOf(all)).toBe(Object.prototype);
    expect(await client.hgetall('missing')).toEqual({});
    expect(await client.hget('h', 'a')).toBe('1');
    expect(await client.hget('h', 'zz')).toBeNull();
    expect(await client.hmget('h', 'a', 'zz', 'c')).toEqual(['1', null, 'x']);
    expect(await client.hexists('h', 'a')).toBe(1);
    expect(await client.hexists('h', 'zz')).toBe(0);
    expect(await client.hdel('h', 'a', 'b')).toBe(2);
    expect(await client.set('s', 7, { PX: 5000 })).toBe('OK');
    expect(await client.set('s2', 'v', 'EX', 50)).toBe('OK');
    expect(Number(await server().cli('PTTL', 's'))).toBeGreaterThan(4000);
    expect(await client.get('s')).toBe('7');
    expect(await client.get('nope')).toBeNull();
    expect(await client.exists('s', 's2', 'nope')).toBe(2);
    expect(await client.incrby('n', 5)).toBe(5);
    expect(await client.incr('n')).toBe(6);
    expect((await client.keys('s*')).sort()).toEqual(['s', 's2']);
    expect(await client.del()).toBe(0);
    expect(await client.del('s', ['s2', 'nope'])).toBe(2);
  });

  it('sorted sets with string scores, lists and sets', async () => {
    expect(await client.zadd('z', 1, 'a', 2.5, 'b', 1714857600000, 'c')).toBe(3);
    expect(await client.zrange('z', 0, -1)).toEqual(['a', 'b', 'c']);
    expect(await client.zrange('z', 0, -1, { WITHSCORES: true })).toEqual([
      'a',
      '1',
      'b',
      '2.5',
      'c',
      '1714857600000',
    ]);
    expect(await client.zrevrange('z', 0, 0, { WITHSCORES: true })).toEqual(['c', '1714857600000']);
    expect(await client.zrevrange('z', 0, -1)).toEqual(['c', 'b', 'a']);
    expect(await client.zcard('z')).toBe(3);
    expect(await client.zscore('z', 'b')).toBe('2.5');
    expect(await client.zscore('z', 'nope')).toBeNull();
    expect(await client.zrem('z', 'a')).toBe(1);
    expect(await client.lpush('l', 'c', 'b', 'a')).toBe(3);
    expect(await client.lrange('l', 0, -1)).toEqual(['a', 'b', 'c']);
    expect(await client.llen('l')).toBe(3);
    expect(await client.lpos('l', 'b')).toBe(1);
    expect(await client.lpos('l', 'zz')).toBeNull();
    expect(await client.ltrim('l', 0, 1)).toBe('OK');
    expect(await client.rpop('l')).toBe('b');
    expect(await client.sadd('set', 'x', 'y')).toBe(2);
    expect((await client.smembers('set')).sort()).toEqual(['x', 'y']);
    expect(await client.smembers('nope')).toEqual([]);
    expect(await client.scard('set')).toBe(2);
  });

  it('streams in ioredis shapes', async () => {
    const id = await client.xadd('st', '*', { event: 'completed', jobId: 1, at: 2.5 });
    expect(id).toMatch(/^\d+-\d+$/);
    for (let i = 0; i < 20; i++) {
      await client.xadd('st', '*', { i }, { MAXLEN: 5, approximate: false });
    }
    expect(await client.xlen('st')).toBe(5);
    const read = await client.xread([{ key: 'st', id: '0-0' }], { COUNT: 2 });
    expect(read).toHaveLength(1);
    const [[name, entries]] = read!;
    expect(name).toBe('st');
    expect(entries).toHaveLength(2);
    expect(entries[0]).toEqual([expect.stringMatching(/^\d+-\d+$/), ['i', '15']]);
    expect(await client.xread([{ key: 'empty', id: '0-0' }])).toBeNull();
    const [latest] = await client.xrevrange('st', '+', '-', 'COUNT', 1);
    expect(latest).toEqual([expect.any(String), ['i', '19']]);
    expect(await client.xtrim('st', 'MAXLEN', 2, { approximate: false })).toBe(3);
    const blocked = client.xread([{ key: 'st', id: '$' }], { BLOCK: 5000 });
    await new Promise((resolve) => setTimeout(resolve, 50));
    await client.xadd('st', '*', { late: 'yes' });
    expect(await blocked).toEqual([['st', [[expect.any(String), ['late', 'yes']]]]]);
  });

  it('BZPOPMIN as [key, member, score] on a lease of its own, null on timeout', async () => {
    expect(await client.bzpopmin('bz', 0.05)).toBeNull();
    await client.zadd('bz', 5, 'm');
    expect(await client.bzpopmin('bz', 1)).toEqual(['bz', 'm', '5']);
    expect(pool.stats().leased).toBe(0);
  });

  it('server commands, SCAN and scanStream', async () => {
    expect(await client.info()).toContain('redis_version');
    expect(await client.info('server')).toContain('redis_version');
    expect(await client.clientList()).toContain('cmd=');
    expect(await client.clientInfo()).toMatch(/^id=\d+/);
    expect(await client.config('GET', 'maxmemory-policy')).toEqual([
      'maxmemory-policy',
      'noeviction',
    ]);
    await expect(client.clientSetName('x')).rejects.toBeInstanceOf(CommandNotAllowedError);
    for (let i = 0; i < 30; i++) await client.set(`scan:${i}`, i);
    await client.set('other', 1);
    const seen: string[] = [];
    let cursor = '0';
    do {
      const [next, keys] = await client.scan(cursor, { MATCH: 'scan:*', COUNT: 7 });
      expect(typeof next).toBe('string');
      cursor = next;
      seen.push(...keys);
    } while (cursor !== '0');
    expect(new Set(seen).size).toBe(30);
    const stream = client.scanStream({ match: 'scan:*', count: 5 });
    expect(stream).toBeInstanceOf(Readable);
    const streamed: string[] = [];
    for await (const page of stream) streamed.push(...(page as string[]));
    expect(new Set(streamed).size).toBe(30);
    expect(await client.call('ECHO', 'hi')).toBe('hi');
    expect(await client.flushall()).toBe('OK');
  });

  it('scripts: EVALSHA, EVAL after SCRIPT FLUSH, ioredis argument rules, methods by name', async () => {
    client.defineCommand('echoAll', {
      numberOfKeys: 1,
      lua: 'return {KEYS[1], ARGV[1], ARGV[2], ARGV[3], ARGV[4]}',
    });
    const args = ['k', undefined, 42, null, Buffer.from('b')];
    expect(await client.runCommand('echoAll', args)).toEqual(['k', '', '42', '', 'b']);
    await server().cli('SCRIPT', 'FLUSH');
    const echo = (client as unknown as Record<string, (a: unknown[]) => Promise<unknown>>).echoAll;
    expect(await echo(['k2', 'a', 'b', 'c', 'd'])).toEqual(['k2', 'a', 'b', 'c', 'd']);
    expect(await server().cli('SCRIPT', 'EXISTS', sha1Of(client, 'echoAll'))).toBe('1');
    await expect(client.runCommand('nope', [])).rejects.toBeInstanceOf(UnknownScriptError);
    client.defineCommand('get', { numberOfKeys: 1, lua: "return 'script'" });
    expect(await client.get('missing')).toBeNull(); // a member of the client is never replaced
    expect(await client.runCommand('get', ['k'])).toBe('script');
  });

  it('multi and pipeline: ioredis [error, value] pairs, scripts loaded first, errors in place', async () => {
    await client.hset('tx', { a: '1', b: '2' });
    await client.sadd('txs', 'x', 'y');
    await client.set('str', 'v');
    client.defineCommand('setAndTell', {
      numberOfKeys: 1,
      lua: "redis.call('SET', KEYS[1], ARGV[1]); return 'done'",
    });
    await server().cli('SCRIPT', 'FLUSH');
    const tx = client.multi();
    tx.hgetall('tx').hset('tx', { c: 3 }).hscan('tx', 0, { COUNT: 100 }).sscan('txs', '0');
    tx.del().llen('str').runCommand('setAndTell', ['via-tx', 'yes']).zrange('nope', 0, -1);
    expect(tx.length).toBe(7);
    const results = await tx.exec();
    expect(results).toHaveLength(7);
    expect(results![0]).toEqual([null, { a: '1', b: '2' }]);
    expect(results![1]).toEqual([null, 1]);
    expect(results![2][1]).toEqual(['0', expect.arrayContaining(['a', '1', 'c', '3'])]);
    expect(results![3]).toEqual([null, ['0', expect.arrayContaining(['x', 'y'])]]);
    expect(results![4][0]).toBeInstanceOf(ResponseError);
    expect((results![4][0] as ResponseError).code).toBe('WRONGTYPE');
    expect(results![5]).toEqual([null, 'done']);
    expect(results![6]).toEqual([null, []]);
    expect(await client.get('via-tx')).toBe('yes');
    expect(await client.multi().exec()).toEqual([]);
    const pipeline = client.pipeline().lrange('nope', 0, -1).smembers('txs').del('via-tx');
    expect(await pipeline.exec()).toEqual([
      [null, []],
      [null, expect.arrayContaining(['x', 'y'])],
      [null, 1],
    ]);
    expect(() => client.multi().runCommand('unknown', [])).toThrow(UnknownScriptError);
    expect(pool.stats().leased).toBe(0);
  });

  it('typed errors: replies as ResponseError, a closed client as BullMqConnectionClosedError', async () => {
    await client.set('str', 'v');
    const wrong = await client.hgetall('str').catch((error: unknown) => error);
    expect(wrong).toBeInstanceOf(ResponseError);
    const other = new BullMqClient(new RedisService(pool));
    expect(await other.quit()).toBe('OK');
    expect(other.status).toBe('end');
    const closed = await other.get('str').catch((error: unknown) => error);
    expect(closed).toBeInstanceOf(BullMqConnectionClosedError);
    expect(closed).toBeInstanceOf(ConnectionError);
    expect(closed).toBeInstanceOf(RedisError);
    expect((closed as Error).message).toBe(CONNECTION_CLOSED_MESSAGE);
    await expect(other.multi().hgetall('x').exec()).rejects.toBeInstanceOf(
      BullMqConnectionClosedError,
    );
    await other.connect();
    expect(other.status).toBe('ready');
    expect(await other.get('str')).toBe('v');
  });
});

function sha1Of(client: BullMqClient, name: string): string {
  return (client as unknown as { scripts: { get(n: string): { sha1: string } } }).scripts.get(name)
    .sha1;
}
