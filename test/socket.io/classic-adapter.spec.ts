import { createAdapter } from '@socket.io/redis-adapter';
import { createClient } from 'redis';
import { RedisService } from '../../lib/client/redis.service';
import { ConnectionPool } from '../../lib/pool/connection-pool';
import { createSocketIoClients, type SocketIoClients } from '../../lib/socket.io';
import { useRedisServer } from '../harness';
import {
  classicServersListening,
  nextEvent,
  noEvent,
  startIoServer,
  waitUntil,
  type IoServer,
} from './socketio-helpers';

describe('createAdapter(pubClient, subClient) of @socket.io/redis-adapter on our clients', () => {
  const server = useRedisServer();
  let pool: ConnectionPool;
  let redis: RedisService;
  let clients: SocketIoClients[];
  let servers: IoServer[];

  beforeAll(() => {
    pool = ConnectionPool.fromUrl(server().url, { maxConnections: 4 });
    redis = new RedisService(pool);
  });
  beforeEach(() => {
    clients = [];
    servers = [];
  });
  afterEach(async () => {
    await Promise.all(servers.map((s) => s.close()));
    await Promise.all(clients.map((c) => c.close()));
  });
  afterAll(async () => {
    await pool.disconnect();
  });

  /** `count` socket.io servers, each on its own pair of clients over the one shared pool. */
  async function startServers(count: number): Promise<IoServer[]> {
    for (let i = 0; i < count; i++) {
      const pair = createSocketIoClients(redis);
      clients.push(pair);
      servers.push(await startIoServer(createAdapter(pair.pubClient, pair.subClient)));
    }
    await classicServersListening(clients[0].pubClient, count);
    return servers;
  }

  it('delivers a broadcast from one server to the clients of every server', async () => {
    const [a, b] = await startServers(2);
    const sockets = [await a.connect(), await a.connect(), await b.connect(), await b.connect()];
    const received = sockets.map((s) => nextEvent<{ n: number; text: string }>(s, 'news'));
    a.io.emit('news', { n: 1, text: 'héllo ✓' });
    expect(await Promise.all(received)).toEqual(sockets.map(() => ({ n: 1, text: 'héllo ✓' })));

    // And the other way round.
    const back = sockets.map((s) => nextEvent<number>(s, 'back'));
    b.io.emit('back', 2);
    expect(await Promise.all(back)).toEqual([2, 2, 2, 2]);
  });

  it('carries binary payloads across servers byte for byte', async () => {
    const [a, b] = await startServers(2);
    const remote = await b.connect();
    const bytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    const received = nextEvent<ArrayBuffer>(remote, 'blob');
    a.io.emit('blob', bytes);
    expect(Buffer.from(await received)).toEqual(bytes);
  });

  it('broadcasts to a room only its members on every server', async () => {
    const [a, b] = await startServers(2);
    for (const s of [a, b]) {
      s.io.on('connection', (socket) => {
        socket.on('join', (room: string, done: () => void) => {
          void socket.join(room);
          done();
        });
      });
    }
    const inA = await a.connect();
    const inB = await b.connect();
    const outB = await b.connect();
    await Promise.all([inA.emitWithAck('join', 'lobby'), inB.emitWithAck('join', 'lobby')]);
    const silent = noEvent(outB, 'room');
    const members = [nextEvent<string>(inA, 'room'), nextEvent<string>(inB, 'room')];
    a.io.to('lobby').emit('room', 'for lobby');
    expect(await Promise.all(members)).toEqual(['for lobby', 'for lobby']);
    expect(await silent).toBe(true);

    // `except` and a socket id as a room (a private message to a socket on the other server).
    const direct = nextEvent<string>(outB, 'direct');
    a.io.to(outB.id as string).emit('direct', 'only you');
    expect(await direct).toBe('only you');
  });

  it('fetchSockets() and socketsJoin() reach the sockets of every server', async () => {
    const [a, b] = await startServers(2);
    const sockets = [await a.connect(), await b.connect(), await b.connect()];
    const all = await a.io.fetchSockets();
    expect(all.map((s) => s.id).sort()).toEqual(sockets.map((s) => s.id).sort());

    a.io.in(sockets[2].id as string).socketsJoin('vip');
    const vipSeen = nextEvent<string>(sockets[2], 'vip');
    // socketsJoin is fire-and-forget: wait until server b applied it before broadcasting.
    await waitUntil(async () => {
      const vips = await a.io.in('vip').fetchSockets();
      return vips.length === 1 && vips[0].id === sockets[2].id;
    }, 'the remote socket in room vip');
    b.io.to('vip').emit('vip', 'welcome');
    expect(await vipSeen).toBe('welcome');
  });

  it('serverSideEmit() reaches the other servers, with and without acknowledgements', async () => {
    const [a, b, c] = await startServers(3);
    b.io.on('hello', (arg: string, ack?: (reply: string) => void) => ack?.(`b got ${arg}`));
    c.io.on('hello', (arg: string, ack?: (reply: string) => void) => ack?.(`c got ${arg}`));
    const heard = nextEvent<string>(b.io, 'plain');
    a.io.serverSideEmit('plain', 'no ack');
    expect(await heard).toBe('no ack');
    const replies = await a.io.serverSideEmitWithAck('hello', 'x');
    expect([...replies].sort()).toEqual(['b got x', 'c got x']);
  });

  it('interoperates with a socket.io server on node-redis clients', async () => {
    const [ours] = await startServers(1);
    const nodePub = createClient({ url: server().url });
    const nodeSub = nodePub.duplicate();
    await Promise.all([nodePub.connect(), nodeSub.connect()]);
    const theirs = await startIoServer(createAdapter(nodePub, nodeSub));
    try {
      await classicServersListening(clients[0].pubClient, 2);
      const atTheirs = await theirs.connect();
      const atOurs = await ours.connect();
      const bytes = Buffer.from([0x00, 0xc1, 0xff, 0x93, 0x7b]);
      const there = nextEvent<[string, ArrayBuffer]>(atTheirs, 'mixed');
      ours.io.emit('mixed', ['text', bytes]);
      const [text, blob] = await there;
      expect(text).toBe('text');
      expect(Buffer.from(blob)).toEqual(bytes);
      const here = nextEvent<string>(atOurs, 'reply');
      theirs.io.emit('reply', 'from node-redis');
      expect(await here).toBe('from node-redis');
      expect((await theirs.io.fetchSockets()).length).toBe(2);
    } finally {
      await theirs.close();
      await Promise.all([nodePub.quit(), nodeSub.quit()]);
    }
  });
});
