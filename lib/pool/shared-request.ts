import type { ClientCache } from '../client-cache/client-cache';
import { CommandRequest, unsettled, type RequestOwner } from '../connection/command-request';
import type { EncodedCommand } from '../protocol/resp-encoder';
import type { RedisArgument } from '../protocol/resp.types';

/**
 * The request for a command on the shared path: a plain one, or with a client-side cache the cache's own (a
 * read whose reply it may store, a write that drops its keys).
 */
export function sharedRequest(
  cache: ClientCache | null,
  name: string,
  sent: readonly RedisArgument[],
  encoded: EncodedCommand,
  buffers: boolean,
  timeoutMs: number,
  idempotent: boolean,
  owner: RequestOwner,
): CommandRequest {
  const deadline = timeoutMs > 0 ? Date.now() + timeoutMs : Infinity;
  if (cache !== null) {
    return cache.request(name, sent, encoded, buffers, deadline, idempotent, owner);
  }
  return new CommandRequest(
    name,
    encoded,
    buffers,
    deadline,
    unsettled,
    unsettled,
    idempotent,
    owner,
  );
}
