import * as net from 'node:net';
import * as tls from 'node:tls';
import type { RespDecoder } from '../protocol/resp-decoder';
import type { ConnectionOptions } from './connection-options';
import { SocketReader } from './socket-reader';

/** A connected or connecting socket of any kind. */
export type SocketLike = net.Socket | tls.TLSSocket;

/** A socket being opened, and the event that says it can carry the handshake. */
export interface Transport {
  socket: SocketLike;
  readyEvent: 'connect' | 'secureConnect';
}

/**
 * Opens the socket a connection runs on: a Unix socket, TLS, or plain TCP. Plain and Unix sockets are read
 * through `onread` into the decoder's own buffers; TLS sockets deliver decrypted 'data' events.
 *
 * @param onActivity Called once per read (a read carries many replies under load).
 */
export function openTransport(
  o: ConnectionOptions,
  decoder: RespDecoder,
  onActivity: () => void,
): Transport {
  let transport: Transport;
  if (o.path !== undefined) {
    const reader = new SocketReader(decoder, onActivity);
    transport = {
      socket: net.connect({ path: o.path, onread: reader.onread }),
      readyEvent: 'connect',
    };
  } else if (o.tls !== undefined) {
    // SNI carries a host name only; an IP address is verified against the certificate's IP SANs instead.
    const servername = o.tls.servername ?? (net.isIP(o.host) === 0 ? o.host : undefined);
    const socket = tls.connect({ ...o.tls, host: o.host, port: o.port, servername });
    socket.on('data', (chunk: Buffer) => {
      onActivity();
      decoder.write(chunk);
    });
    transport = { socket, readyEvent: 'secureConnect' };
  } else {
    const reader = new SocketReader(decoder, onActivity);
    transport = {
      socket: net.connect({ host: o.host, port: o.port, onread: reader.onread }),
      readyEvent: 'connect',
    };
  }
  transport.socket.setNoDelay(true);
  return transport;
}
