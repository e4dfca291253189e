import { TimeoutError } from '../errors/redis-pool.errors';
import { timerDelay } from '../utils/deadline';
import type { CommandRequest } from './command-request';

/** Requests in order, as the reply queue and the outbox hold them. */
export interface RequestList {
  readonly length: number;
  at(index: number): CommandRequest | undefined;
}

/**
 * One timer for the earliest deadline of a connection's requests. Unreferenced: while a command is outstanding
 * its socket keeps the process alive anyway. A deadline beyond what a Node timer can hold fires early and is
 * re-armed, never clamped to 1 ms.
 */
export class DeadlineTimer {
  private timer: NodeJS.Timeout | null = null;
  private at = Infinity;

  constructor(private readonly onDue: () => void) {}

  /** Makes sure the timer fires by `at`. */
  watch(at: number): void {
    if (at >= this.at) return;
    if (this.timer !== null) clearTimeout(this.timer);
    this.at = at;
    this.timer = setTimeout(fireDeadline, timerDelay(at - Date.now()), this).unref();
  }

  /** @internal The timer fired: forget it and call the owner. */
  fire(): void {
    this.timer = null;
    this.at = Infinity;
    this.onDue();
  }

  clear(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.at = Infinity;
  }
}

function fireDeadline(timer: DeadlineTimer): void {
  timer.fire();
}

/**
 * Rejects with `TimeoutError` every unsettled request of `list` whose deadline passed (`commandMayHaveRun` says
 * whether it was written; a written one is marked abandoned and keeps its place). Returns how many expired and
 * the next deadline of the others.
 */
export function expireRequests(
  list: RequestList,
  now: number,
  address: string,
  defaultTimeoutMs: number,
): { expired: number; next: number } {
  let expired = 0;
  let next = Infinity;
  for (let i = 0; i < list.length; i++) {
    const request = list.at(i) as CommandRequest;
    if (request.done) continue;
    if (request.deadline > now) {
      if (request.deadline < next) next = request.deadline;
      continue;
    }
    expired++;
    if (request.written) request.abandoned = true;
    request.reject(
      new TimeoutError(
        `${request.name} to ${address} timed out after ${request.timeoutMs || defaultTimeoutMs} ms`,
        { commandMayHaveRun: request.written },
      ),
    );
  }
  return { expired, next };
}
