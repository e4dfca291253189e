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

/**
 * A multi-key command split per slot (MGET, DEL, UNLINK, EXISTS, TOUCH, and MSET with `splitAcrossSlots`) failed
 * in some of its slots. Each slot's part is atomic on its own, never the whole call: the key lists say where it
 * got to. The message gives the counts and slots only (keys are command arguments); the lists are properties.
 */
export class ClusterSplitError extends ClusterError {
  /** The command that was split (name only). */
  readonly command: string;
  /** Keys of the parts that succeeded: for MSET, the keys written. */
  readonly succeeded: Array<string | Buffer>;
  /** Keys of the parts that did not run (refused, or never sent): for MSET, the keys not written. */
  readonly failed: Array<string | Buffer>;
  /** Keys of the parts sent whose reply was lost: they may or may not have run. */
  readonly uncertain: Array<string | Buffer>;
  /** The error of each part that failed or is uncertain, in slot order. */
  readonly errors: Error[];

  constructor(
    message: string,
    details: {
      command: string;
      succeeded: Array<string | Buffer>;
      failed: Array<string | Buffer>;
      uncertain: Array<string | Buffer>;
      errors: Error[];
    },
  ) {
    super(message, { cause: details.errors[0] });
    this.command = details.command;
    this.succeeded = details.succeeded;
    this.failed = details.failed;
    this.uncertain = details.uncertain;
    this.errors = details.errors;
  }
}

/**
 * A command sent to every master or every node (FLUSHALL, SCRIPT LOAD, DBSIZE...) failed on some of them after
 * its retries: it did not silently succeed on the others. The message names the nodes.
 */
export class ClusterFanOutError extends ClusterError {
  /** The command (name only). */
  readonly command: string;
  /** `host:port` of every node that answered it. */
  readonly succeeded: string[];
  /** Every node that did not, with its last error. */
  readonly failed: Array<{ node: string; error: Error }>;

  constructor(
    message: string,
    details: {
      command: string;
      succeeded: string[];
      failed: Array<{ node: string; error: Error }>;
    },
  ) {
    super(message, { cause: details.failed[0]?.error });
    this.command = details.command;
    this.succeeded = details.succeeded;
    this.failed = details.failed;
  }
}

/**
 * The slot of a leased connection (`withConnection(fn, key)`, `multi()`, `watch()`, a blocking command) moved
 * while the lease ran, after some of its commands had already taken effect: it cannot be re-run on the new
 * owner without running them twice. `cause` is the redirection (`MOVED`/`ASK` `ResponseError`).
 */
export class ClusterLeaseMovedError extends ClusterError {}

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

/**
 * A cluster node address learned from the network (CLUSTER SHARDS or SLOTS, MOVED, ASK) is outside what the
 * cluster pool may connect to (the seeds' networks, `allowedHosts`, `natMap`): nothing was sent there, no
 * credential above all.
 */
export class ClusterAddressError extends ClusterError {
  /** The refused `host:port`, as the server gave it. */
  readonly address: string;

  constructor(message: string, address: string, options?: { cause?: unknown }) {
    super(message, options);
    this.address = address;
  }
}
