import type { Connection } from '../../lib/connection/connection';
import { ConnectionPool } from '../../lib/pool/connection-pool';
import { PACK_BELOW } from '../../lib/pool/shared-dispatcher';
import { startRedisServer, type RedisServerHandle } from '../harness';
import { expectNothingOpen, uniqueName, watchUnhandledRejections } from '../pool/pool-checks';
import { watchConnections } from './cache-checks';

const KEYS = Array.from({ length: 100 }, (_, i) => `key:${i}`);

describe('client-side cache: a lost connection drops exactly its own entries', () => {
  watchUnhandledRejections();
  const watch = watchConnections();
  let server: RedisServerHandle;
  let writer: ConnectionPool;
  let pool: ConnectionPool;
  let name: string;

  beforeEach(async () => {
    server = await startRedisServer();
    writer = new ConnectionPool({ host: server.host, port: server.port });
    await writer.executeCommand('MSET', ...KEYS.flatMap((key) => [key, 'old']));
  });
  afterEach(async () => {
    await expectNothingOpen(pool, server, name);
    await writer.disconnect();
    await server.dispose();
  });

  const open = async (connections: number) => {
    name = uniqueName('cache-faults');
    const before = watch.opened().length;
    pool = new ConnectionPool({
      host: server.host,
      port: server.port,
      clientName: name,
      protocol: 3,
      maxConnections: connections,
      minIdle: connections,
      connectTimeoutMs: 1000,
      retry: { attempts: 5, baseDelayMs: 20, maxDelayMs: 200 },
      clientSideCache: {},
    });
    // minIdle opens them; they serve once the pool counts them idle.
    while (pool.stats().idle < connections) await new Promise((resolve) => setImmediate(resolve));
    const opened = watch.opened().slice(before);
    expect(opened).toHaveLength(connections);
    return opened;
  };

  /** Reads the first half of the keys on one connection and the second half on the other; returns which is which. */
  const readOnTwo = async (connections: Connection[]): Promise<[Connection, Connection]> => {
    const first = KEYS.slice(0, 50).map((key) => pool.executeCommand('GET', key));
    // Shared work packs onto the first connection with room: this turn fills it, so the next goes elsewhere.
    const filler = Array.from({ length: PACK_BELOW }, () => pool.executeCommand('PING'));
    const busy = connections.find((c) => c.pending >= 50) as Connection;
    const other = connections.find((c) => c !== busy) as Connection;
    expect(other.pending).toBe(0);
    const second = await new Promise<Array<Promise<unknown>>>((resolve) =>
      process.nextTick(() => resolve(KEYS.slice(50).map((key) => pool.executeCommand('GET', key)))),
    );
    expect(other.pending).toBeGreaterThanOrEqual(50);
    await Promise.all([...first, ...second, ...filler]);
    expect(pool.cacheStats()).toMatchObject({ entries: 100, misses: 100 });
    return [busy, other];
  };

  it('CLIENT KILL of one pool connection: its entries go, the other’s stay, no stale read after', async () => {
    const [killed, kept] = await readOnTwo(await open(2));
    const id = await killed.executeCommand<number>('CLIENT', 'ID');
    const closed = killed.whenClosed();
    await server.cli('CLIENT', 'KILL', 'ID', String(id));
    await closed;
    expect(kept.ready).toBe(true);
    expect(pool.cacheStats()).toMatchObject({ entries: 50, invalidations: 50 });
    // Written while the connection was gone: nobody could have told its entries.
    await writer.executeCommand('MSET', ...KEYS.flatMap((key) => [key, 'new']));
    await pool.executeCommand('PING');
    for (const key of KEYS) await expect(pool.executeCommand('GET', key)).resolves.toBe('new');
  });

  it('the entries of the surviving connection are still hits', async () => {
    const [killed] = await readOnTwo(await open(2));
    const id = await killed.executeCommand<number>('CLIENT', 'ID');
    const closed = killed.whenClosed();
    await server.cli('CLIENT', 'KILL', 'ID', String(id));
    await closed;
    const before = pool.cacheStats();
    for (const key of KEYS.slice(50))
      await expect(pool.executeCommand('GET', key)).resolves.toBe('old');
    expect(pool.cacheStats().hits - before.hits).toBe(50);
    for (const key of KEYS.slice(0, 50)) await pool.executeCommand('GET', key);
    expect(pool.cacheStats().misses - before.misses).toBe(50);
  });

  it('SIGKILL and restart: every entry goes with its connection, reads after the restart see the new data', async () => {
    const connections = await open(2);
    await readOnTwo(connections);
    await server.kill();
    await Promise.all(connections.map((c) => c.whenClosed()));
    expect(pool.cacheStats()).toMatchObject({ entries: 0, bytes: 0 });
    await server.start();
    await writer.executeCommand('SET', KEYS[0], 'after-restart');
    // Right after failed reconnects the pool fails fast; it recovers alone within its backoff.
    const until = Date.now() + 10_000;
    while (
      !(await pool.executeCommand('PING').then(
        () => true,
        () => false,
      )) &&
      Date.now() < until
    ) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await expect(pool.executeCommand('GET', KEYS[0])).resolves.toBe('after-restart');
    await expect(pool.executeCommand('GET', KEYS[1])).resolves.toBeNull();
    await expect(pool.executeCommand('GET', KEYS[0])).resolves.toBe('after-restart');
    expect(pool.cacheStats()).toMatchObject({ entries: 2, hits: 1 });
    // The new connections track again: another client's write is pushed and applied.
    const pushed = watch.invalidated(KEYS[0]);
    await writer.executeCommand('SET', KEYS[0], 'later');
    await pushed;
    await expect(pool.executeCommand('GET', KEYS[0])).resolves.toBe('later');
  });

  it('a connection whose tracking is turned off drops its entries at once and stores nothing more', async () => {
    const [only] = await open(1);
    await pool.executeCommand('GET', KEYS[0]);
    expect(pool.cacheStats().entries).toBe(1);
    // What a lease running CLIENT TRACKING OFF does to the connection it holds.
    await only.executeCommand('CLIENT', 'TRACKING', 'OFF');
    expect(pool.cacheStats()).toMatchObject({ entries: 0, invalidations: 1 });
    await writer.executeCommand('SET', KEYS[0], 'new');
    await expect(pool.executeCommand('GET', KEYS[0])).resolves.toBe('new');
    await expect(pool.executeCommand('GET', KEYS[0])).resolves.toBe('new');
    expect(pool.cacheStats()).toMatchObject({ entries: 0, hits: 0, misses: 3 });
  });
});
