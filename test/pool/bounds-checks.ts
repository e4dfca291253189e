import * as net from 'node:net';
import type { Connection } from '../../lib/connection/connection';
import type { ConnectionPool } from '../../lib/pool/connection-pool';
import type { RedisServerHandle } from '../harness';
import { sleep } from './pool-checks';

/** Polls `condition` every 10 ms until it holds, or fails after `withinMs` naming `what`. */
export async function waitFor(
  what: string,
  condition: () => boolean | Promise<boolean>,
  withinMs = 10_000,
): Promise<void> {
  const until = Date.now() + withinMs;
  while (!(await condition())) {
    if (Date.now() > until) throw new Error(`still waiting after ${withinMs} ms for: ${what}`);
    await sleep(10);
  }
}

/** Resolves on the next event-loop turn, so that what follows is dispatched in a turn of its own. */
export function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Tracks a promise's state without consuming its rejection. */
export function track<T>(promise: Promise<T>): { readonly settled: boolean; promise: Promise<T> } {
  const state = { settled: false, promise };
  promise.then(
    () => (state.settled = true),
    () => (state.settled = true),
  );
  return state;
}

/**
 * The most sockets a pool had at once (open plus connecting), sampled at every `connect` and `close` event of the
 * pool and whenever `sample()` is called.
 */
export function watchSocketCount(pool: ConnectionPool): { max(): number; sample(): void } {
  let max = 0;
  const sample = (): void => {
    const { total, connecting } = pool.stats();
    max = Math.max(max, total + connecting);
  };
  pool.on('connect', sample);
  pool.on('close', sample);
  return { max: () => max, sample };
}

/** The server's connections carrying this client name whose last command was `command` (lower case). */
export async function serverConnectionsRunning(
  server: RedisServerHandle,
  clientName: string,
  command: string,
): Promise<number> {
  const clients = await server.clientList();
  return clients.filter((c) => c.name === clientName && c.cmd === command).length;
}

/**
 * Marks a promise as handled at once, for calls whose outcome is checked later (by `settleAll`): a rejection in
 * between is then not reported as unhandled. The promise itself is returned unchanged.
 */
export function handled<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => undefined);
  return promise;
}

/** `connected_clients` as the server counts them, asked over a connection we already hold. */
export async function connectedClients(connection: Connection): Promise<number> {
  const info = await connection.executeCommand<string>('INFO', 'clients');
  return Number(/connected_clients:(\d+)/.exec(info)?.[1]);
}

/** Opens a raw socket; resolves with what the server said within `listenMs` (nothing, for a normal client). */
export async function rawClient(server: RedisServerHandle, listenMs: number) {
  const socket = net.connect(server.port, server.host);
  let said = '';
  socket.on('data', (chunk) => (said += chunk.toString()));
  socket.on('error', () => undefined);
  await new Promise((resolve) => socket.once('connect', resolve));
  await sleep(listenMs);
  return { socket, said };
}

/** Sends one command on a raw socket and resolves with the raw reply. */
export function rawCommand(socket: net.Socket, ...words: string[]): Promise<string> {
  return new Promise((resolve) => {
    socket.once('data', (chunk) => resolve(chunk.toString()));
    socket.write(`*${words.length}\r\n${words.map((w) => `$${w.length}\r\n${w}\r\n`).join('')}`);
  });
}
