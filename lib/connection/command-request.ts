import {
  AbortError,
  ConnectionError,
  ProtocolError,
  type ResponseError,
} from '../errors/redis-pool.errors';
import { commandWords, sentArgs } from '../protocol/command-name';
import { encodeWords, type EncodedCommand } from '../protocol/resp-encoder';
import type { RedisArgument, RedisReply } from '../protocol/resp.types';

/** Who may take a failed request back to run it elsewhere (the pool). */
export interface RequestOwner {
  /** Called when the request's connection died; returns true when it took the request back. */
  retry(request: CommandRequest, error: ConnectionError): boolean;
  /**
   * Called when the server refused to run the command for a passing reason (LOADING); returns true when it
   * took the request back to send again later.
   */
  retryLater(request: CommandRequest, error: ResponseError): boolean;
}

/**
 * One command on its way: queued on a connection, or waiting in the pool for one. It settles exactly once;
 * after that, a late reply or failure is ignored, which is what keeps a timed-out command from ever
 * delivering its reply to somebody else.
 */
export class CommandRequest {
  /** Passed to `socket.write()`: from here on the server may have run it. */
  written = false;
  /** Settled (resolved, rejected or timed out). */
  done = false;
  /**
   * Given up (timed out or aborted) after it was written: it keeps its place in its connection's reply queue, and
   * its reply, if it comes, is read and dropped.
   */
  abandoned = false;
  /** Times the pool has sent it again. */
  attempts = 0;
  /** Times a connection died while it was written and awaiting its reply (a reply that kills its connection). */
  diedInFlight = 0;
  /** Pub/sub confirmations still expected before a (P|S)(UN)SUBSCRIBE request completes. */
  confirmations = 0;
  /** The budget its deadline was set from, in milliseconds, for messages. */
  timeoutMs = 0;
  /** Its encoding is at least `LARGE_REQUEST_BYTES` long; set by the connection that queues it. */
  large = false;

  constructor(
    /** Upper-case command name, for messages (never the arguments). */
    readonly name: string,
    readonly encoded: EncodedCommand,
    /** Decode the reply's strings as Buffers. */
    readonly buffers: boolean,
    /** Epoch milliseconds after which it rejects with `TimeoutError`; `Infinity` for none. */
    public deadline: number,
    private onResolve: (value: RedisReply) => void,
    private onReject: (error: Error) => void,
    /** May be sent again after its connection died, even though it was written. */
    readonly idempotent: boolean = false,
    readonly owner: RequestOwner | null = null,
  ) {}

  private signal: AbortSignal | null = null;
  private onAbort: (() => void) | null = null;

  /**
   * Settles with `AbortError` when `signal` aborts first. Not yet written, the request is withdrawn: it never
   * reaches the socket (`commandMayHaveRun: false`). Already written, it keeps its place and its reply is dropped
   * (`commandMayHaveRun: true`).
   */
  watch(signal: AbortSignal): void {
    if (signal.aborted) {
      this.abort(signal);
      return;
    }
    this.signal = signal;
    this.onAbort = () => this.abort(signal);
    signal.addEventListener('abort', this.onAbort, { once: true });
  }

  private abort(signal: AbortSignal): void {
    if (this.done) return;
    if (this.written) this.abandoned = true;
    this.reject(
      new AbortError('The operation was aborted', {
        cause: signal.reason,
        commandMayHaveRun: this.written,
      }),
    );
  }

  private unwatch(): void {
    (this.signal as AbortSignal).removeEventListener('abort', this.onAbort as () => void);
    this.signal = null;
    this.onAbort = null;
  }

  /** Sets who hears the outcome (see `settledBy`). */
  settleWith(resolve: (value: RedisReply) => void, reject: (error: Error) => void): void {
    this.onResolve = resolve;
    this.onReject = reject;
  }

  resolve(value: RedisReply): void {
    if (this.done) return;
    this.done = true;
    if (this.signal !== null) this.unwatch();
    this.onResolve(value);
  }

  reject(error: Error): void {
    if (this.done) return;
    this.done = true;
    if (this.signal !== null) this.unwatch();
    this.onReject(error);
  }
}

/** Placeholder outcome handlers, replaced through `settledBy`. */
export function unsettled(): void {
  // Replaced before the request can settle.
}

let adopting: CommandRequest | null = null;

function adoptResolvers(resolve: (value: never) => void, reject: (error: Error) => void): void {
  (adopting as CommandRequest).settleWith(resolve as (value: RedisReply) => void, reject);
}

/**
 * The promise a request settles. A Promise executor runs synchronously inside the constructor, so one
 * module-level executor can hand the resolvers over: no closure is allocated per command.
 */
export function settledBy<T>(request: CommandRequest): Promise<T> {
  adopting = request;
  try {
    return new Promise<T>(adoptResolvers);
  } finally {
    adopting = null;
  }
}

/** A command read once: its normalised name, the arguments as sent, and its encoding. */
export interface PreparedCommand {
  /** Upper-cased first word: what policy, flags and lease tracking look at. */
  name: string;
  /** The arguments as sent (a spaced name's further words first). */
  sent: readonly RedisArgument[];
  encoded: EncodedCommand;
}

/**
 * Normalises and encodes a command in one place, for every path that sends one.
 * @throws TypeError for an empty name or a bad argument; RangeError for an argument over 512 MB.
 */
export function prepareCommand(command: string, args: readonly RedisArgument[]): PreparedCommand {
  const words = commandWords(command);
  return {
    name: words.name,
    sent: sentArgs(words, args),
    encoded: encodeWords(words, args, command),
  };
}

/**
 * Fails a request because its connection closed: `ConnectionError` with `commandMayHaveRun`, unless its owner
 * takes it back to run elsewhere. The head request whose own reply was malformed gets the `ProtocolError` itself.
 */
export function failOnClose(
  request: CommandRequest,
  cause: Error,
  isHead: boolean,
  address: string,
): void {
  if (request.done) return;
  if (isHead && request.written && cause instanceof ProtocolError) {
    request.reject(cause);
    return;
  }
  if (request.written) request.diedInFlight++;
  const error = new ConnectionError(
    `${request.name} failed: connection to ${address} closed ${request.written ? 'after' : 'before'} the command was sent (${cause.message})`,
    { cause, commandMayHaveRun: request.written },
  );
  if (request.owner !== null && request.owner.retry(request, error)) return;
  request.reject(error);
}
