import { createAdapter, createShardedAdapter } from '@socket.io/redis-adapter';
import { RedisService } from '../../lib/client/redis.service';
import { ClusterPool } from '../../lib/cluster/cluster-pool';
import { keySlot } from '../../lib/cluster/hash-slot';
import { createSocketIoClients, type SocketIoClients } from '../../lib/socket.io';
import { useRedisCluster } from '../harness';
import {
  classicServersListening,
  nextEvent,
  noEvent,
  startIoServer,
  subscribers,
  waitUntil,
  type IoServer,
} from './socketio-helpers';

/** The sharded adapter's channel for namespace `/`, which every server subscribes to. */
const MAIN_CHANNEL = 'socket.io#/#';

describe('socket.io adapters on a ClusterPool', () => {
  const cluster = useRedisCluster({ masters: 3, replicasPerMaster: 0 });
  let pool: ClusterPool;
  let redis: RedisService;
  let clients: SocketIoClients[];
  let servers: IoServer[];

  beforeAll(() => {
    pool = new ClusterPool({ nodes: cluster().seeds().slice(0, 1), maxConnections: 2 });
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

  async function startSharded(count: number): Promise<IoServer[]> {
    for (let i = 0; i < count; i++) {
      const pair = createSocketIoClients(redis);
      clients.push(pair);
      servers.push(await startIoServer(createShardedAdapter(pair.pubClient, pair.subClient)));
    }
    await shardListeners(MAIN_CHANNEL, count);
    return servers;
  }

  function shardListeners(channel: string, count: number): Promise<void> {
    return waitUntil(
      async () => (await subscribers(clients[0].pubClient, channel, 'SHARDNUMSUB')) === count,
      `${count} shard subscribers of ${channel}`,
    );
  }

  function joinOnRequest(io: IoServer): void {
    io.io.on('connection', (socket) => {
      socket.on('join', (room: string, done: () => void) => {
        void socket.join(room);
        done();
      });
    });
  }

  it('createShardedAdapter: broadcasts, rooms, fetchSockets() and serverSideEmit() across servers', async () => {
    const [a, b] = await startSharded(2);
    joinOnRequest(a);
    joinOnRequest(b);
    const sockets = [await a.connect(), await b.connect(), await b.connect()];
    const all = sockets.map((s) => nextEvent<string>(s, 'hi'));
    a.io.emit('hi', 'everyone');
    expect(await Promise.all(all)).toEqual(['everyone', 'everyone', 'everyone']);

    // A public room has a shard channel of its own ("dynamic" subscription mode).
    await Promise.all([
      sockets[0].emitWithAck('join', 'red'),
      sockets[1].emitWithAck('join', 'red'),
    ]);
    await shardListeners(`${MAIN_CHANNEL}red#`, 2);
    const silent = noEvent(sockets[2], 'room');
    const members = [nextEvent<string>(sockets[0], 'room'), nextEvent<string>(sockets[1], 'room')];
    b.io.to('red').emit('room', 'red only');
    expect(await Promise.all(members)).toEqual(['red only', 'red only']);
    expect(await silent).toBe(true);

    expect((await a.io.fetchSockets()).map((s) => s.id).sort()).toEqual(
      sockets.map((s) => s.id).sort(),
    );
    b.io.on('ask', (q: string, ack: (r: string) => void) => ack(`b: ${q}`));
    expect(await a.io.serverSideEmitWithAck('ask', 'ok?')).toEqual(['b: ok?']);
  });

  it('holds one subscriber connection per master serving its shard channels, not one per room', async () => {
    const [a] = await startSharded(1);
    joinOnRequest(a);
    const socket = await a.connect();
    const rooms = Array.from({ length: 24 }, (_, i) => `room-${i}`);
    await Promise.all(rooms.map((room) => socket.emitWithAck('join', room)));
    for (const room of rooms) await shardListeners(`${MAIN_CHANNEL}${room}#`, 1);
    const slots = new Set([MAIN_CHANNEL, ...rooms.map((r) => `${MAIN_CHANNEL}${r}#`)].map(keySlot));
    expect(slots.size).toBeGreaterThan(3);
    expect(clients[0].subClient.subscriberConnections).toBeLessThanOrEqual(3);
    expect(clients[0].subClient.subscriberConnections).toBeGreaterThanOrEqual(2);
    // The publisher never subscribes.
    expect(clients[0].pubClient.subscriberConnections).toBe(0);
  });

  // Each server of this process holds at most one subscriber lease per master (maxConnections 2 is maxLeases 2 per
  // node): a subscriber left empty by a migration must not be reused for the moved names, or it takes a second
  // lease on the new owner and the other server's subscriber finds the budget spent.
  it('moves shard subscriptions with their slot: broadcasts resume after a live reshard', async () => {
    const [a, b] = await startSharded(2);
    const atB = await b.connect();
    const first = nextEvent<number>(atB, 'n');
    a.io.emit('n', 1);
    expect(await first).toBe(1);

    const slot = keySlot(MAIN_CHANNEL);
    const owner = await cluster().ownerOf(slot);
    const target = (await cluster().masters()).find((m) => m !== owner)!;
    await cluster().migrateSlot(slot, target);
    // The old owner drops the subscriptions (sunsubscribe); ours follow the slot to its new master.
    await waitUntil(
      async () => (await target.cli('PUBSUB', 'SHARDNUMSUB', MAIN_CHANNEL)).split('\n')[1] === '2',
      'both servers subscribed on the new owner',
      15_000,
    );
    const second = nextEvent<number>(atB, 'n');
    a.io.emit('n', 2);
    expect(await second).toBe(2);
  });

  it('createAdapter (classic pub/sub) works on the cluster too, counting servers over every master', async () => {
    for (let i = 0; i < 2; i++) {
      const pair = createSocketIoClients(redis);
      clients.push(pair);
      servers.push(await startIoServer(createAdapter(pair.pubClient, pair.subClient)));
    }
    await classicServersListening(clients[0].pubClient, 2);
    const [a, b] = servers;
    const atB = await b.connect();
    await a.connect();
    const seen = nextEvent<string>(atB, 'c');
    a.io.emit('c', 'classic');
    expect(await seen).toBe('classic');
    expect((await b.io.fetchSockets()).length).toBe(2);
  });
});
