import { once } from 'node:events';
import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server, type ServerOptions } from 'socket.io';
import { io as connectClient, type Socket as ClientSocket } from 'socket.io-client';
import type { SocketIoRedisClient } from '../../lib/socket.io';

/** A socket.io server on a loopback port, and everything needed to close it. */
export interface IoServer {
  readonly io: Server;
  readonly url: string;
  readonly sockets: ClientSocket[];
  /** Connects a socket.io-client to this server and resolves once it is connected. */
  connect(): Promise<ClientSocket>;
  close(): Promise<void>;
}

type AdapterFactory = NonNullable<Partial<ServerOptions>['adapter']>;

/** Starts a socket.io server on an ephemeral loopback port with the given adapter. */
export async function startIoServer(adapter: AdapterFactory): Promise<IoServer> {
  const http: HttpServer = createServer();
  const io = new Server(http, { adapter });
  http.listen(0, '127.0.0.1');
  await once(http, 'listening');
  const { port } = http.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;
  const sockets: ClientSocket[] = [];
  return {
    io,
    url,
    sockets,
    async connect() {
      const socket = connectClient(url, {
        transports: ['websocket'],
        forceNew: true,
        reconnection: false,
      });
      sockets.push(socket);
      await new Promise<void>((resolve, reject) => {
        socket.once('connect', resolve);
        socket.once('connect_error', reject);
      });
      return socket;
    },
    async close() {
      for (const socket of sockets) socket.disconnect();
      await new Promise<void>((resolve) => io.close(() => resolve()));
    },
  };
}

/** Resolves with the first arguments of `event` on `socket`, or rejects after `timeoutMs`. */
export function nextEvent<T = unknown>(
  socket: { once(event: string, listener: (value: T) => void): unknown },
  event: string,
  timeoutMs = 10_000,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`no '${event}' within ${timeoutMs} ms`)),
      timeoutMs,
    );
    socket.once(event, (value: T) => {
      clearTimeout(timer);
      resolve(value);
    });
  });
}

/** Asserts that no `event` reaches `socket` within `ms` (used after a positive control arrived). */
export function noEvent(
  socket: {
    on(event: string, fn: () => void): unknown;
    off(event: string, fn: () => void): unknown;
  },
  event: string,
  ms = 300,
): Promise<boolean> {
  return new Promise((resolve) => {
    let seen = false;
    const mark = (): void => {
      seen = true;
    };
    socket.on(event, mark);
    setTimeout(() => {
      socket.off(event, mark);
      resolve(!seen);
    }, ms);
  });
}

/** Polls `probe` until it returns true, or rejects after `timeoutMs` with `what` in the message. */
export async function waitUntil(
  probe: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await probe()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Subscribers of `channel` as `PUBSUB NUMSUB` (or SHARDNUMSUB) through our client reports them. */
export async function subscribers(
  client: SocketIoRedisClient,
  channel: string,
  sub: 'NUMSUB' | 'SHARDNUMSUB' = 'NUMSUB',
): Promise<number> {
  const reply = await client.sendCommand<[string, number]>(['PUBSUB', sub, channel]);
  return Number(reply[1]);
}

/** Waits until `count` socket.io servers listen on namespace `/` of the classic adapter. */
export function classicServersListening(client: SocketIoRedisClient, count: number): Promise<void> {
  return waitUntil(
    async () => (await subscribers(client, 'socket.io-request#/#')) === count,
    `${count} servers on socket.io-request#/#`,
  );
}
