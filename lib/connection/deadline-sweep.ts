import { ConnectionError } from '../errors/redis-pool.errors';
import type { CommandRequest } from './command-request';
import type { ConnectionOptions } from './connection-options';
import type { Outbox } from './outbox';
import type { ReplyQueue } from './reply-queue';
import { expireRequests } from './request-deadlines';

/**
 * What a connection does when one of its deadlines passes. Rejects every expired request: a written one keeps its
 * place (its late reply is read and dropped), an unwritten one leaves the outbox now through `dropped`. Counts them
 * in the pool's telemetry. Returns when to look again (`Infinity`: no deadline left), or the error to destroy the
 * connection with: the request at the head was abandoned and the server stayed silent for a whole further
 * `commandTimeoutMs`.
 */
export function sweepDeadlines(
  replies: ReplyQueue,
  outbox: Outbox,
  options: ConnectionOptions,
  address: string,
  dropped: (request: CommandRequest) => void,
): number | ConnectionError {
  const now = Date.now();
  const { commandTimeoutMs } = options;
  const written = expireRequests(replies, now, address, commandTimeoutMs);
  const unwritten = expireRequests(outbox, now, address, commandTimeoutMs);
  const telemetry = options.telemetry;
  if (telemetry !== undefined) telemetry.commandTimeouts += written.expired + unwritten.expired;
  // Withdrawn requests leave the outbox now, not at a write that a frozen socket may never allow.
  if (unwritten.expired > 0) outbox.compact(dropped);
  let next = Math.min(written.next, unwritten.next);
  const head = replies.peek();
  if (head !== undefined && head.abandoned) {
    // The late reply keeps its place so nothing shifts onto the wrong caller; but a server that stays silent
    // for a whole further timeout is treated as gone.
    const giveUpAt = head.deadline + commandTimeoutMs;
    if (giveUpAt <= now) {
      return new ConnectionError(`No reply from ${address} within ${2 * commandTimeoutMs} ms`);
    }
    next = Math.min(next, giveUpAt);
  }
  return next;
}
