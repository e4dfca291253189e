import type { CommandRequest } from '../connection/command-request';
import type { ConnectionError, ResponseError } from '../errors/redis-pool.errors';
import type { PoolTelemetry } from '../observability/pool-telemetry';
import { backoffDelay } from './backoff';
import type { ResolvedPoolOptions } from './pool-options';

/** What a resender needs of its pool. */
export interface ResendHost {
  closed(): boolean;
  closedError(): Error;
  /** Queues the request on the shared path again (unbounded: it was accepted once already). */
  dispatch(request: CommandRequest): void;
  /** Remembers why the server refused (LOADING), for errors that follow. */
  refusedWith(error: ResponseError): void;
}

/**
 * When a pool sends a command again, and when it must not (at most once): a command whose connection died is
 * resent only if it was never written, or if it is read-only (or opted in) and this is the first time a connection
 * died with it in flight (so a reply that kills its connection is not resent in a loop); a command the server
 * refused to run for now (LOADING) goes again after a backoff. Always within the command's deadline and the
 * pool's `retry.attempts`.
 */
export class Resender {
  private readonly delayed = new Map<CommandRequest, NodeJS.Timeout>();

  constructor(
    private readonly host: ResendHost,
    private readonly retry: ResolvedPoolOptions['retry'],
    private readonly telemetry: PoolTelemetry,
  ) {}

  /** Takes back a command whose connection died, when it is safe to send again; returns whether it did. */
  afterConnectionLoss(request: CommandRequest, error: ConnectionError): boolean {
    if (this.host.closed() || request.attempts >= this.retry.attempts) return false;
    if (error.commandMayHaveRun && (!request.idempotent || request.diedInFlight > 1)) {
      this.telemetry.resendsRefused++;
      return false;
    }
    if (Date.now() >= request.deadline) return false;
    request.attempts++;
    this.telemetry.retries++;
    request.written = false;
    this.host.dispatch(request);
    return true;
  }

  /** Takes back a command the server refused to run for now (LOADING), to send after a backoff. */
  later(request: CommandRequest, error: ResponseError): boolean {
    if (this.host.closed()) return false;
    const delay = backoffDelay(request.attempts + 1, this.retry.baseDelayMs, this.retry.maxDelayMs);
    if (Date.now() + delay >= request.deadline) return false;
    request.attempts++;
    this.telemetry.retries++;
    request.written = false;
    this.host.refusedWith(error);
    const timer = setTimeout(() => {
      this.delayed.delete(request);
      if (this.host.closed()) request.reject(this.host.closedError());
      else this.host.dispatch(request);
    }, delay);
    this.delayed.set(request, timer);
    return true;
  }

  /** The pool is closing: commands waiting out a backoff are rejected now. */
  rejectWaiting(error: () => Error): void {
    for (const [request, timer] of this.delayed) {
      clearTimeout(timer);
      request.reject(error());
    }
    this.delayed.clear();
  }
}
