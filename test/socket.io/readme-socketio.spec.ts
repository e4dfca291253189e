// The README's socket.io example, run as a test (test/readme.spec.ts keeps them equal).
import { createAdapter } from '@socket.io/redis-adapter';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server } from 'socket.io';
import { io as connectClient } from 'socket.io-client';
import { RedisService } from '../../lib/client/redis.service';
import { ConnectionPool } from '../../lib/pool/connection-pool';
import { createSocketIoClients } from '../../lib/socket.io';
import { useRedisServer } from '../harness';
import { classicServersListening, nextEvent, waitUntil } from './socketio-helpers';

describe('README socket.io example: @socket.io/redis-adapter on the app pool', () => {
  const server = useRedisServer();

  it('fans a broadcast out to the clients of two servers, then shuts down cleanly', async () => {
    process.env.REDIS_URL = server().url;
    process.env.PORT = '0';

    /** One app process of the example: its own pool, socket.io server and adapter clients. */
    async function start() {
      // --- README socketio start ---
      const redis = new RedisService(ConnectionPool.fromUrl(process.env.REDIS_URL ?? ''));
      const { pubClient, subClient } = createSocketIoClients(redis);

      const httpServer = createServer();
      const io = new Server(httpServer, { adapter: createAdapter(pubClient, subClient) });
      io.on('connection', (socket) => {
        socket.on('join', (room: string) => socket.join(room));
      });
      httpServer.listen(Number(process.env.PORT ?? 3000));

      // On shutdown: the socket.io server, then its clients, and the pool last (the app's, not theirs).
      async function shutdown(): Promise<void> {
        await io.close();
        await Promise.all([pubClient.quit(), subClient.quit()]);
        await redis.pool.disconnect();
      }
      // --- README socketio end ---
      if (!httpServer.listening) await once(httpServer, 'listening');
      return { io, pubClient, shutdown, port: (httpServer.address() as AddressInfo).port };
    }

    const apps = [await start(), await start()];
    await classicServersListening(apps[0].pubClient, 2);
    const sockets = apps.map(({ port }) =>
      connectClient(`http://127.0.0.1:${port}`, { transports: ['websocket'], forceNew: true }),
    );
    try {
      await Promise.all(sockets.map((s) => nextEvent(s, 'connect')));
      const news = sockets.map((s) => nextEvent<string>(s, 'news'));
      apps[0].io.emit('news', 'to every server');
      expect(await Promise.all(news)).toEqual(['to every server', 'to every server']);

      // A room joined on the second server receives what the first one sends to it.
      sockets[1].emit('join', 'lobby');
      await waitUntil(() => apps[1].io.sockets.adapter.rooms.has('lobby'), 'the join');
      const lobby = nextEvent<string>(sockets[1], 'lobby');
      apps[0].io.to('lobby').emit('lobby', 'welcome');
      expect(await lobby).toBe('welcome');
    } finally {
      for (const s of sockets) s.disconnect();
      for (const app of apps) await app.shutdown();
    }
    expect(await server().clientList()).toEqual([]);
  });
});
