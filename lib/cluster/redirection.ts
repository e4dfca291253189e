import { ClusterError, type ResponseError } from '../errors/redis-pool.errors';
import { addressFrom, isSlot, type NodeAddress } from './cluster-topology';

/** A MOVED or ASK reply, checked: the slot and the node to go to. */
export interface Redirection {
  kind: 'MOVED' | 'ASK';
  slot: number;
  to: NodeAddress;
}

/**
 * Reads `MOVED <slot> <host>:<port>` or `ASK <slot> <host>:<port>` from an error reply. An empty host (Redis 7
 * with an unknown endpoint: `MOVED 3999 :6380`) means the host that answered, `askedHost`.
 * @throws ClusterError for anything else (a slot out of range, a malformed or hostile address such as
 *   `MOVED __proto__ x`), quoting at most the first 100 characters of the reply.
 */
export function parseRedirection(error: ResponseError, askedHost: string): Redirection {
  const parts = error.message.split(' ');
  const kind = parts[0];
  const slot = Number(parts[1]);
  const target = parts[2] ?? '';
  const colon = target.lastIndexOf(':');
  let host = colon === -1 ? '' : target.slice(0, colon);
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  const to =
    colon === -1 || !/^\d+$/.test(parts[1] ?? '')
      ? undefined
      : addressFrom(host, target.slice(colon + 1), askedHost);
  if ((kind !== 'MOVED' && kind !== 'ASK') || parts.length !== 3 || !isSlot(slot) || !to) {
    throw new ClusterError(
      `Malformed cluster redirection from the server: ${JSON.stringify(error.message.slice(0, 100))}`,
      { cause: error },
    );
  }
  return { kind, slot, to };
}
