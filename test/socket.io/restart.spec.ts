import { createAdapter } from '@socket.io/redis-adapter';
import { RedisService } from '../../lib/client/redis.service';
import { RedisError } from '../../lib/errors/redis-pool.errors';
import { ConnectionPool } from '../../lib/pool/connection-pool';
import { createSocketIoClients, type SocketIoClients } from '../../lib/socket.io';
import { startRedisServer, type RedisServerHandle } from '../harness';
import {
  classicServersListening,
  nextEvent,
  startIoServer,
  type IoServer,
} from './socketio-helpers';

describe('socket.io over our clients when Redis restarts', () => {
  let server: RedisServerHandle;
  let pool: ConnectionPool;
  let redis: RedisService;
  let clients: SocketIoClients[];
  let servers: IoServer[];
  let errors: unknown[];

  beforeEach(async () => {
    server = await startRedisServer();
    pool = ConnectionPool.fromUrl(server.url, { maxConnections: 2, connectTimeoutMs: 1000 });
    redis = new RedisService(pool);
    clients = [];
    servers = [];
    errors = [];
  });
  afterEach(async () => {
    await Promise.all(servers.map((s) => s.close()));
    await Promise.all(clients.map((c) => c.close()));
    await pool.disconnect();
    await server.dispose();
  });

  async function startServer(): Promise<IoServer> {
    // Fast reconnection, so the test waits on the restart and not on the backoff.
    const pair = createSocketIoClients(redis, { reconnectMaxDelayMs: 200 });
    for (const client of [pair.pubClient, pair.subClient])
      client.on('error', (error) => errors.push(error));
    clients.push(pair);
    const io = await startIoServer(createAdapter(pair.pubClient, pair.subClient));
    servers.push(io);
    return io;
  }

  it('broadcasts resume once Redis is back on the same port after a crash', async () => {
    const [a, b] = [await startServer(), await startServer()];
    await classicServersListening(clients[0].pubClient, 2);
    const [atA, atB] = [await a.connect(), await b.connect()];
    const before = [nextEvent<number>(atA, 'n'), nextEvent<number>(atB, 'n')];
    a.io.emit('n', 1);
    expect(await Promise.all(before)).toEqual([1, 1]);

    const restored = clients.map((c) => nextEvent(c.subClient, 'ready', 20_000));
    await server.kill();
    // While Redis is down, a broadcast is lost but rejects quietly: a typed 'error', never an unhandled one.
    a.io.emit('n', 'lost');
    await new Promise((resolve) => setImmediate(resolve));
    await server.start();
    await Promise.all(restored);
    await redis.ping();

    const after = [nextEvent<number>(atA, 'n'), nextEvent<number>(atB, 'n')];
    b.io.emit('n', 2);
    expect(await Promise.all(after)).toEqual([2, 2]);
    expect(errors.length).toBeGreaterThan(0);
    for (const error of errors) expect(error).toBeInstanceOf(RedisError);
    // Both servers still count for fetchSockets() (their request channels were subscribed again).
    expect((await a.io.fetchSockets()).length).toBe(2);
  });

  it('subscribes once Redis comes up when the adapter started while it was down', async () => {
    await server.stop();
    const [a, b] = [await startServer(), await startServer()];
    const ready = clients.map((c) => nextEvent(c.subClient, 'ready', 20_000));
    await server.start();
    await Promise.all(ready);
    await classicServersListening(clients[0].pubClient, 2);
    const atB = await b.connect();
    const seen = nextEvent<string>(atB, 'late');
    a.io.emit('late', 'made it');
    expect(await seen).toBe('made it');
  });
});
