// The README's Nest socket.io wiring (an IoAdapter subclass, as Nest's own Redis adapter recipe), run as a test
// (test/readme.spec.ts keeps them equal). @nestjs/platform-socket.io and @nestjs/websockets are loaded when
// dev dependencies; loaded through `optional` so that their types stay out of the main build.
import {
  ConsoleLogger,
  Logger,
  Module,
  type INestApplication,
  type WebSocketAdapter,
} from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { createAdapter } from '@socket.io/redis-adapter';
import type { AddressInfo } from 'node:net';
import type { Server, ServerOptions, Socket } from 'socket.io';
import { io as connectClient } from 'socket.io-client';
import { RedisService } from '../../lib/client/redis.service';
import { RedisPoolModule } from '../../lib/nest/redis-pool.module';
import { createSocketIoClients, type SocketIoClients } from '../../lib/socket.io';
import { useRedisServer } from '../harness';
import { LogCapture } from '../nest/nest-helpers';
import { nextEvent, waitUntil } from './socketio-helpers';

/** What this example uses of `@nestjs/platform-socket.io`'s `IoAdapter` (typed here: the package is optional). */
interface IoAdapterBase extends WebSocketAdapter<Server, Socket, ServerOptions> {
  createIOServer(port: number, options?: ServerOptions): Server;
  dispose(): Promise<void>;
}
type IoAdapterClass = new (app: INestApplication) => IoAdapterBase;

/** What this example uses of `@nestjs/websockets`. */
interface WebSockets {
  WebSocketGateway(): ClassDecorator;
  WebSocketServer(): PropertyDecorator;
  SubscribeMessage(message: string): MethodDecorator;
}

function optional<T extends object>(name: string): T | undefined {
  try {
    return jest.requireActual<T>(name);
  } catch (error) {
    // Only the package itself missing means "not installed"; anything else is a real failure.
    if (String((error as Error).message).startsWith(`Cannot find module '${name}'`))
      return undefined;
    throw error;
  }
}

const platform = optional<{ IoAdapter: IoAdapterClass }>('@nestjs/platform-socket.io');
const websockets = optional<WebSockets>('@nestjs/websockets');
const installed = platform !== undefined && websockets !== undefined;
if (!installed) {
  // Dev dependencies: missing means a broken install, which must fail rather than skip.
  throw new Error('readme-socketio-nest needs @nestjs/platform-socket.io and @nestjs/websockets');
}

describe('README Nest example: RedisIoAdapter on the app pool', () => {
  const server = useRedisServer();

  it('two Nest apps broadcast to each other through the one pool each, and close cleanly', async () => {
    const IoAdapter = platform!.IoAdapter;
    const ws = websockets!;
    process.env.REDIS_URL = server().url;
    process.env.PORT = '0';

    class ChatGateway {
      server!: Server;

      say(_client: Socket, text: string): void {
        this.server.emit('said', text);
      }
    }
    ws.WebSocketGateway()(ChatGateway);
    ws.WebSocketServer()(ChatGateway.prototype, 'server');
    ws.SubscribeMessage('say')(
      ChatGateway.prototype,
      'say',
      Object.getOwnPropertyDescriptor(ChatGateway.prototype, 'say')!,
    );

    @Module({
      imports: [RedisPoolModule.forRoot({ url: process.env.REDIS_URL })],
      providers: [ChatGateway],
    })
    class AppModule {}

    const logs = new LogCapture();
    Logger.overrideLogger(logs);
    // --- README socketio-nest start ---
    class RedisIoAdapter extends IoAdapter {
      private readonly clients: SocketIoClients;

      constructor(app: INestApplication) {
        super(app);
        this.clients = createSocketIoClients(app.get(RedisService));
      }

      override createIOServer(port: number, options?: ServerOptions): Server {
        const server = super.createIOServer(port, options);
        server.adapter(createAdapter(this.clients.pubClient, this.clients.subClient));
        return server;
      }

      // Nest calls this on app.close(), before RedisPoolModule closes the pool.
      override async dispose(): Promise<void> {
        await super.dispose();
        await this.clients.close();
      }
    }

    async function bootstrap(): Promise<INestApplication> {
      const app = await NestFactory.create(AppModule);
      app.useWebSocketAdapter(new RedisIoAdapter(app));
      await app.listen(Number(process.env.PORT ?? 3000));
      return app;
    }
    // --- README socketio-nest end ---

    const apps = [await bootstrap(), await bootstrap()];
    const sockets = apps.map((app) =>
      connectClient(`http://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}`, {
        transports: ['websocket'],
        forceNew: true,
      }),
    );
    try {
      await Promise.all(sockets.map((s) => nextEvent(s, 'connect')));
      await waitUntil(
        async () =>
          (await server().cli('PUBSUB', 'NUMSUB', 'socket.io-request#/#')).endsWith('\n2'),
        'both apps on the adapter',
      );
      const said = sockets.map((s) => nextEvent<string>(s, 'said'));
      sockets[0].emit('say', 'hello from app 1');
      expect(await Promise.all(said)).toEqual(['hello from app 1', 'hello from app 1']);
    } finally {
      for (const s of sockets) s.disconnect();
      for (const app of apps) await app.close();
      Logger.overrideLogger(new ConsoleLogger());
    }
    expect(await server().clientList()).toEqual([]);
    expect(logs.entries.filter((entry) => entry.level === 'error')).toEqual([]);
  });
});
