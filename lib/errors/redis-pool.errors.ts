/**
 * Every error this package throws or rejects with. Messages are fixed text plus context (address, command
 * name); they never carry command arguments, so a password passed to AUTH or HELLO can never leak through
 * one of them.
 */

/** Base class of every error raised by this package. */
export class RedisError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The socket failed: could not connect, was closed, or errored while a command was outstanding. */
export class ConnectionError extends RedisError {
  /**
   * Whether the command had been written to the socket before it failed. When `true` the server may have
   * executed it, so it is not retried automatically unless it is read-only or the caller opted in.
   */
  readonly commandMayHaveRun: boolean;

  constructor(message: string, options?: { cause?: unknown; commandMayHaveRun?: boolean }) {
    super(message, options);
    this.commandMayHaveRun = options?.commandMayHaveRun ?? false;
  }
}

/** A deadline passed: connect, handshake, lease wait or command reply. */
export class TimeoutError extends RedisError {
  /** Whether the command had been written before the deadline passed. */
  readonly commandMayHaveRun: boolean;

  constructor(message: string, options?: { cause?: unknown; commandMayHaveRun?: boolean }) {
    super(message, options);
    this.commandMayHaveRun = options?.commandMayHaveRun ?? false;
  }
}

/** An error reply from the server (`-ERR ...`, `-WRONGTYPE ...`, bulk errors in RESP3). */
export class ResponseError extends RedisError {
  /** The first word of the reply, e.g. `ERR`, `WRONGTYPE`, `NOSCRIPT`, `MOVED`. */
  readonly code: string;
  /**
   * The command that got this reply, when known (name only, never its arguments). Absent, not `undefined`,
   * when unknown, so `inspect()` and JSON show no `command: undefined`.
   */
  declare command?: string;

  constructor(message: string) {
    super(message);
    const space = message.indexOf(' ');
    this.code = space === -1 ? message : message.slice(0, space);
  }
}

/** The server refused our credentials (WRONGPASS, NOAUTH, or AUTH without a configured password). */
export class AuthenticationError extends ResponseError {}

/** The server sent bytes that are not valid RESP, or that exceed the decoder's limits. */
export class ProtocolError extends RedisError {}

/** Every connection was busy for longer than `acquireTimeoutMs`, or too many callers were waiting. */
export class PoolExhaustedError extends RedisError {}

/** The pool was disconnected; it takes no new work. */
export class PoolClosedError extends RedisError {}

/**
 * A command that carries connection state or blocks (WATCH, MULTI, BLPOP, SUBSCRIBE, SELECT, ...) was sent on
 * the shared, multiplexed path. The message names the API to use instead.
 */
export class CommandNotAllowedError extends RedisError {}

/** A cluster-level failure: too many redirections, CROSSSLOT refused before sending, no node for a slot. */
export class ClusterError extends RedisError {}

/** An option or URL is invalid. Thrown synchronously, with the password masked in any URL it shows. */
export class ConfigurationError extends RedisError {}

/**
 * The call was abandoned through its `AbortSignal`. A command already on the wire still has its reply read and
 * dropped, so no reply reaches the wrong caller.
 */
export class AbortError extends RedisError {
  /**
   * Whether the command had been written before the abort: `false` means it was withdrawn and never reaches the
   * server; `true` means the server may run it (its reply is read and dropped).
   */
  readonly commandMayHaveRun: boolean;

  constructor(
    message = 'The operation was aborted',
    options?: { cause?: unknown; commandMayHaveRun?: boolean },
  ) {
    super(message, options);
    this.commandMayHaveRun = options?.commandMayHaveRun ?? false;
  }
}

/** Every attempt of an optimistic-locking transaction (`watch()`, `transaction()`) had its EXEC aborted. */
export class TransactionAbortedError extends RedisError {
  /** How many times the callback ran. */
  readonly attempts: number;

  constructor(message: string, attempts: number) {
    super(message);
    this.attempts = attempts;
  }
}
