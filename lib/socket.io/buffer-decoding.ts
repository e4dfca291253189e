import type { Connection } from '../connection/connection';
import { SocketIoUnsupportedError } from './socket-io.errors';

interface StringMode {
  returnBuffers: unknown;
}

/**
 * Makes a leased connection decode every string as a Buffer for the rest of its life, pub/sub messages included,
 * and marks it to be discarded (never reused) when the lease is given back.
 *
 * Why: a connection decodes strings in the mode of the command at the head of its reply queue, and as UTF-8 text
 * when none is outstanding, so messages reaching an idle subscriber connection arrive as text. socket.io's
 * adapters publish MessagePack, which is not UTF-8: decoded as text it would be mangled beyond repair. The
 * connection layer has no public switch for this yet, so the decoder's mode is pinned here, on this one
 * connection only, and checked: if the layer changed shape, subscribing fails loudly instead of corrupting
 * messages (the tests exercise binary payloads end to end).
 *
 * @throws SocketIoUnsupportedError when the connection's decoder cannot be pinned.
 */
export function decodeAllAsBuffers(connection: Connection): void {
  const decoder = (connection as unknown as { decoder?: StringMode }).decoder;
  if (
    typeof decoder !== 'object' ||
    decoder === null ||
    typeof decoder.returnBuffers !== 'boolean'
  ) {
    throw new SocketIoUnsupportedError(
      'This version of the connection layer cannot decode pub/sub messages as bytes; socket.io payloads would be mangled',
    );
  }
  // Discard, not reuse: a connection whose strings come back as Buffers must never serve anyone else.
  connection.lease.mustDiscard = true;
  Object.defineProperty(decoder, 'returnBuffers', {
    configurable: true,
    enumerable: true,
    get: () => true,
    set: () => undefined,
  });
}
