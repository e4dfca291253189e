import { RedisService } from '../../lib/client/redis.service';
import { ConnectionPool } from '../../lib/pool/connection-pool';
import { PACK_BELOW } from '../../lib/pool/shared-dispatcher';
import { startRedisServer, type RedisServerHandle } from '../harness';
import { expectNothingOpen, uniqueName, watchUnhandledRejections } from '../pool/pool-checks';
import { watchConnections } from './cache-checks';
import { ReorderProxy } from './reorder-proxy';

describe('client-side cache: the read/invalidation race', () => {
  watchUnhandledRejections();
  const watch = watchConnections();
  let server: RedisServerHandle;
  let proxy: ReorderProxy;
  let writer: ConnectionPool;
  let pool: ConnectionPool;
  let name: string;

  beforeEach(async () => {
    server = await startRedisServer();
    proxy = await ReorderProxy.start(server);
    writer = new ConnectionPool({ host: server.host, port: server.port });
    name = uniqueName('race');
    pool = new ConnectionPool({
      host: server.host,
      port: proxy.port,
      clientName: name,
      protocol: 3,
      maxConnections: 1,
      clientSideCache: {},
    });
    await pool.executeCommand('PING');
  });
  afterEach(async () => {
    proxy.release();
    await expectNothingOpen(pool, server, name);
    await writer.disconnect();
    await proxy.close();
    await server.dispose();
  });

  it('does not store a reply whose key was invalidated while it was on its way', async () => {
    await writer.executeCommand('SET', 'k', 'v1');
    proxy.hold();
    const read = pool.executeCommand('GET', 'k');
    await proxy.replyHeld();
    // The server ran the GET (tracking k for this connection) and replied; the reply is held. Now k changes:
    // the server pushes the invalidation, and the proxy lets it overtake the reply.
    const pushed = watch.invalidated('k');
    await writer.executeCommand('SET', 'k', 'v2');
    await pushed;
    proxy.release();
    // The caller's read ran before the write, so the old value is its honest answer; it must not be kept.
    await expect(read).resolves.toBe('v1');
    expect(pool.cacheStats()).toMatchObject({ entries: 0, misses: 1 });
    await expect(pool.executeCommand('GET', 'k')).resolves.toBe('v2');
    await expect(pool.executeCommand('GET', 'k')).resolves.toBe('v2');
    expect(pool.cacheStats()).toMatchObject({ entries: 1, hits: 1, misses: 2 });
  });

  it('stores a held reply when no invalidation overtook it', async () => {
    await writer.executeCommand('SET', 'k', 'v1');
    proxy.hold();
    const read = pool.executeCommand('GET', 'k');
    await proxy.replyHeld();
    proxy.release();
    await expect(read).resolves.toBe('v1');
    expect(pool.cacheStats()).toMatchObject({ entries: 1 });
    await expect(pool.executeCommand('GET', 'k')).resolves.toBe('v1');
    expect(pool.cacheStats().hits).toBe(1);
  });

  it('an invalidation of another key does not spoil the read in flight', async () => {
    await writer.executeCommand('MSET', 'k', 'v1', 'other', 'x');
    await pool.executeCommand('GET', 'other');
    proxy.hold();
    const read = pool.executeCommand('GET', 'k');
    await proxy.replyHeld();
    const pushed = watch.invalidated('other');
    await writer.executeCommand('SET', 'other', 'y');
    await pushed;
    proxy.release();
    await expect(read).resolves.toBe('v1');
    expect(pool.cacheStats()).toMatchObject({ entries: 1 });
  });

  const openTwo = async () => {
    await pool.disconnect();
    name = uniqueName('race');
    pool = new ConnectionPool({
      host: server.host,
      port: proxy.port,
      clientName: name,
      protocol: 3,
      maxConnections: 2,
      minIdle: 2,
      clientSideCache: {},
    });
    while (pool.stats().idle < 2) await new Promise((resolve) => setImmediate(resolve));
  };

  it('a write this pool had acknowledged is never followed by a read of the value before it', async () => {
    await openTwo();
    await writer.executeCommand('SET', 'k', 'v1');
    // The invalidation of the read below will arrive late, and the SET reaches the server after that read.
    proxy.holdPushes();
    const held = proxy.holdNextRequest();
    const write = pool.executeCommand('SET', 'k', 'v2');
    // Shared work packs onto the first connection with room: fill it, so the read goes to the other one.
    const filler = Array.from({ length: PACK_BELOW }, () => pool.executeCommand('PING'));
    await held;
    await expect(pool.executeCommand('GET', 'k')).resolves.toBe('v1');
    expect(pool.cacheStats().entries).toBe(1);
    proxy.releaseRequests();
    await expect(write).resolves.toBe('OK');
    await Promise.all(filler);
    // Acknowledged, while the push telling the reading connection is still held: the entry must be gone.
    expect(pool.cacheStats().entries).toBe(0);
    await expect(pool.executeCommand('GET', 'k')).resolves.toBe('v2');
    proxy.releasePushes();
  });

  it('the same holds for a write in a multi(): its keys go again when EXEC is acknowledged', async () => {
    await openTwo();
    const redis = new RedisService(pool);
    await writer.executeCommand('SET', 'k', 'v1');
    proxy.holdPushes();
    const held = proxy.holdNextRequest();
    const transaction = redis.multi().set('k', 'v2').exec();
    await held;
    await expect(redis.get('k')).resolves.toBe('v1');
    expect(pool.cacheStats().entries).toBe(1);
    proxy.releaseRequests();
    await expect(transaction).resolves.toEqual(['OK']);
    expect(pool.cacheStats().entries).toBe(0);
    await expect(redis.get('k')).resolves.toBe('v2');
    proxy.releasePushes();
  });

  it('and for a write on a lease: its keys go again when it is acknowledged', async () => {
    await openTwo();
    await writer.executeCommand('SET', 'k', 'v1');
    proxy.holdPushes();
    const held = proxy.holdNextRequest();
    const write = pool.withConnection((c) => c.executeCommand('SET', 'k', 'v2'));
    await held;
    await expect(pool.executeCommand('GET', 'k')).resolves.toBe('v1');
    expect(pool.cacheStats().entries).toBe(1);
    proxy.releaseRequests();
    await expect(write).resolves.toBe('OK');
    expect(pool.cacheStats().entries).toBe(0);
    await expect(pool.executeCommand('GET', 'k')).resolves.toBe('v2');
    proxy.releasePushes();
  });
});
