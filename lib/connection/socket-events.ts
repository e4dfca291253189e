import { ConnectionError, TimeoutError } from '../errors/redis-pool.errors';
import type { RespDecoder } from '../protocol/resp-decoder';
import { timerDelay } from '../utils/deadline';
import type { Connection } from './connection';
import type { ConnectionOptions } from './connection-options';
import { openTransport, type SocketLike } from './transport';

/** What a connection does on its socket's events: arrow functions, handed to the socket as its listeners. */
export interface SocketHooks {
  /** Bytes arrived: once per read (a read carries many replies under load). */
  heard: () => void;
  /** The socket can carry the handshake (TCP or Unix: connected; TLS: secured). */
  connected: () => void;
  /** The socket's buffer emptied after a write it could not take at once. */
  drained: () => void;
  /** The socket failed; 'close' follows. */
  failed: (error: Error) => void;
  /** The socket closed. */
  closed: () => void;
}

/**
 * Opens the socket of `connection` (see `openTransport`) and tells `hooks` of its events. Unless the connection is
 * ready (handshake included) within `connectTimeoutMs`, it is destroyed with a `TimeoutError`. TCP keepalive
 * starts once connected (not on a Unix socket).
 */
export function openSocket(
  connection: Connection,
  o: ConnectionOptions,
  decoder: RespDecoder,
  hooks: SocketHooks,
): SocketLike {
  const { socket, readyEvent } = openTransport(o, decoder, hooks.heard);
  const connectTimer = setTimeout(() => {
    connection.destroy(
      new TimeoutError(
        `Connecting to ${connection.address} timed out after ${o.connectTimeoutMs} ms`,
      ),
    );
  }, timerDelay(o.connectTimeoutMs));
  connection.once('ready', () => clearTimeout(connectTimer));
  void connection.whenClosed().then(() => clearTimeout(connectTimer));
  socket.once(readyEvent, () => {
    if (o.path === undefined && o.keepAliveMs > 0) socket.setKeepAlive(true, o.keepAliveMs);
    hooks.connected();
  });
  socket.on('drain', hooks.drained);
  socket.on('error', hooks.failed);
  socket.on('close', hooks.closed);
  return socket;
}

/** The close cause a socket error gives a connection. */
export function socketFailure(address: string, error: Error): ConnectionError {
  return new ConnectionError(`Connection to ${address} failed: ${error.message}`, { cause: error });
}
