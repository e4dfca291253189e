import { EventEmitter } from 'node:events';
import { inspect } from 'node:util';
import { CommandNotAllowedError, ConnectionError } from '../errors/redis-pool.errors';
import { RespDecoder } from '../protocol/resp-decoder';
import { commandWords, sentArgs, type CommandWords } from '../protocol/command-name';
import { encodeCommand, encodeWords, type EncodedCommand } from '../protocol/resp-encoder';
import type { RedisArgument, RedisReply } from '../protocol/resp.types';
import { emitSafely } from '../utils/safe-emit';
import { timerDelay } from '../utils/deadline';
import { blockingWaitMs, isSubscribeCommand, unsupported } from './command-policy';
import { addressOf, type ConnectionOptions } from './connection-options';
import { CommandRequest, failOnClose, settledBy, unsettled } from './command-request';
import { readyOrClosed, runHandshake } from './handshake';
import { SocketHold } from './socket-hold';
import { LeaseState } from './lease-state';
import { Outbox } from './outbox';
import { ReplyQueue } from './reply-queue';
import { DeadlineTimer } from './request-deadlines';
import { sweepDeadlines } from './deadline-sweep';
import { openSocket, socketFailure } from './socket-events';
import type { SocketLike } from './transport';
import type { ConnectionTelemetry } from '../observability/command-context';
import { commandTracing, traceLeased } from '../observability/trace';

let nextConnectionId = 1;

/** The life of a connection: it only ever moves forward. */
export type ConnectionStatus = 'connecting' | 'ready' | 'closing' | 'closed';

/**
 * One socket to Redis: the handshake, a FIFO of commands awaiting replies, one coalesced write per event-loop
 * turn, deadlines, and pub/sub frames. Events: `push` (a RESP3 push frame or a pub/sub message: the frame as an
 * array) and `close` (the error that closed it, or `undefined` for a requested close). It never emits `error`,
 * so an unheard connection cannot crash the process, and a listener that throws cannot disturb its decoding.
 */
export class Connection extends EventEmitter {
  /** Unique within the process. */
  readonly id = nextConnectionId++;
  readonly createdAt = Date.now();
  /** When a command last completed or was sent; drives idle reaping and health checks. */
  lastActiveAt = Date.now();
  /** The protocol the handshake settled on (3 falls back to 2 on servers without HELLO). */
  protocol: 2 | 3;
  /** `host:port` or the socket path. */
  readonly address: string;
  /** State a lease changed, so that `release()` can restore it or discard the connection. */
  readonly lease = new LeaseState();
  /**
   * @internal Called once when `pending` falls to `roomAt` or below (the pool waits for room on a connection
   * that reached its high-water mark).
   */
  onRoom: (() => void) | null = null;
  /** @internal See `onRoom`. */
  roomAt = 0;
  /** @internal Told of every command run through `executeWith` (a lease's), by the client-side cache. */
  tap: ((name: string, args: readonly RedisArgument[], settled: Promise<unknown>) => void) | null =
    null;

  /** Held in a private field: `inspect()` (even with `customInspect: false`), spreading and JSON never see it. */
  readonly #options: ConnectionOptions;
  private status: ConnectionStatus = 'connecting';
  private readonly socket: SocketLike;
  /** Keeps the process alive while work is outstanding or the connection is subscribed; see `SocketHold`. */
  private readonly hold: SocketHold;
  /**
   * @internal A background connection (e.g. a watcher's subscription) never keeps the process alive by being
   * subscribed; commands outstanding on it still do.
   */
  background = false;
  private readonly decoder: RespDecoder;
  /** Written requests awaiting their replies, oldest first. */
  private readonly replies: ReplyQueue;
  /** Accepted requests not written yet. */
  private readonly outbox = new Outbox();
  /** Requests pending that are marked `large`. */
  private largeInFlight = 0;
  private flushScheduled = false;
  /** When a byte last arrived, or written commands started awaiting replies: see `silentSince`. */
  private heardAt = Date.now();
  private waitingForDrain = false;
  private readonly deadlines = new DeadlineTimer(() => this.onDeadline());
  private closeCause: Error | undefined;
  private readonly closed: Promise<void>;
  private onClosed!: () => void;

  private constructor(options: ConnectionOptions) {
    super();
    this.#options = options;
    this.protocol = options.protocol;
    this.address = addressOf(options);
    this.closed = new Promise((resolve) => (this.onClosed = resolve));
    this.decoder = new RespDecoder(
      {
        onReply: (reply) => this.replies.onReply(reply),
        onPush: (push) => this.replies.onPush(push),
        onError: (error) => this.destroy(error),
      },
      options.decoderLimits,
    );
    this.replies = new ReplyQueue(
      {
        address: this.address,
        protocol: () => this.protocol,
        push: (frame) => emitSafely(this, 'push', frame),
        shifted: this.onRetired,
        broken: (error) => this.destroy(error),
      },
      this.decoder,
    );
    this.socket = openSocket(this, options, this.decoder, {
      heard: () => {
        this.lastActiveAt = Date.now();
        this.heardAt = this.lastActiveAt;
      },
      connected: () => this.onConnected(),
      drained: () => {
        this.waitingForDrain = false;
        this.flush();
      },
      failed: (error) => {
        this.closeCause ??= socketFailure(this.address, error);
      },
      closed: () => this.shutDown(),
    });
    this.hold = new SocketHold(this.socket);
  }

  /**
   * Connects, then runs the handshake (HELLO or AUTH, CLIENT SETNAME, SELECT) in one write, all within
   * `connectTimeoutMs`. Resolves with a ready connection; rejects with `ConnectionError`, `TimeoutError`,
   * `AuthenticationError` or the server's `ResponseError`, leaving nothing open.
   */
  static async connect(options: ConnectionOptions): Promise<Connection> {
    const connection = Connection.open(options);
    await connection.whenReady();
    return connection;
  }

  /** Starts connecting and returns at once; `whenReady()` tells how it went. For pools that must be able to
   * close a connection that is still connecting. */
  static open(options: ConnectionOptions): Connection {
    return new Connection(options);
  }

  /** Where it is in its life. */
  get state(): ConnectionStatus {
    return this.status;
  }

  /** Ready for commands. */
  get ready(): boolean {
    return this.status === 'ready';
  }

  /** Commands queued or sent whose replies have not arrived (abandoned ones included). */
  get pending(): number {
    return this.replies.length + this.outbox.length;
  }

  /**
   * Commands in flight that carry a large value (64 KiB or more encoded). The pool counts each as
   * a deep pipeline, so large values spread over connections instead of queueing behind each other on one.
   */
  get largePending(): number {
    return this.largeInFlight;
  }

  /**
   * Commands were queued and their coalesced write is still to come: the turn is open. It closes when that write
   * runs (at the next tick on an idle connection, at the end of the loop iteration on a busy one), even when
   * the socket is waiting for 'drain'.
   */
  get turnOpen(): boolean {
    return this.flushScheduled;
  }

  /** The socket's buffer is full and it waits for 'drain': new work is better sent elsewhere. */
  get congested(): boolean {
    return this.waitingForDrain;
  }

  /**
   * @internal Since when written commands have awaited their replies without a byte from the server (epoch ms);
   * `Infinity` when none awaits. A frozen or black-holed server shows as an old time.
   */
  get silentSince(): number {
    return this.replies.length > 0 ? this.heardAt : Infinity;
  }

  /** A command was abandoned and its reply is still outstanding: new work should go elsewhere. */
  get stalled(): boolean {
    const head = this.replies.peek();
    return head !== undefined && head.abandoned;
  }

  /** Subscribed to at least one channel, pattern or shard channel. */
  get subscribed(): boolean {
    return this.replies.pubsub.count > 0;
  }

  /**
   * Runs one command on this connection and resolves with its reply. Commands issued in the same event-loop
   * turn leave in one socket write. On a leased connection this is how stateful and blocking commands run.
   */
  executeCommand<T = RedisReply>(command: string, ...args: RedisArgument[]): Promise<T> {
    return this.executeWith<T>(command, args, false);
  }

  /**
   * From now on, pub/sub messages (and other frames nobody awaits) decode as Buffers: the exact bytes Redis sent,
   * binary payloads intact. Send the subscriptions with `executeCommandBuffer`, so that RESP2 messages arriving
   * behind a confirmation decode the same way. The lease is discarded, never reused, when given back.
   */
  decodeMessagesAsBuffers(): void {
    this.replies.decodeIdleAsBuffers();
    this.lease.mustDiscard = true;
  }

  /** Like `executeCommand`, with strings in the reply as Buffers. */
  executeCommandBuffer<T = RedisReply>(command: string, ...args: RedisArgument[]): Promise<T> {
    return this.executeWith<T>(command, args, true);
  }

  /**
   * @internal Shared by the public command methods; tracks the connection state a lease changes. An aborted
   * `signal` withdraws the command if it was not written yet.
   */
  executeWith<T>(
    command: string,
    args: readonly RedisArgument[],
    buffers: boolean,
    timeoutMs?: number,
    signal?: AbortSignal,
  ): Promise<T> {
    // Read once, without an object per command: this runs for every command sent.
    let words: CommandWords;
    let encoded: EncodedCommand;
    try {
      words = commandWords(command);
      encoded = encodeWords(words, args, command);
    } catch (error) {
      return Promise.reject(error);
    }
    const name = words.name;
    const sent = sentArgs(words, args);
    const refusal = unsupported(name, sent);
    if (refusal !== undefined) return Promise.reject(new CommandNotAllowedError(refusal));
    this.lease.track(name, sent);
    const base = timeoutMs ?? this.#options.commandTimeoutMs;
    // 0 means no deadline, for blocking commands too (not one of exactly their block time).
    const budget = base <= 0 ? Infinity : base + blockingWaitMs(name, sent);
    const request = new CommandRequest(
      name,
      encoded,
      buffers,
      budget === Infinity || budget <= 0 ? Infinity : Date.now() + budget,
      unsettled,
      unsettled,
    );
    request.timeoutMs = budget;
    if (isSubscribeCommand(name)) {
      request.confirmations = this.replies.pubsub.expectedConfirmations(name, sent);
    }
    const promise = settledBy<T>(request);
    if (signal !== undefined) request.watch(signal);
    this.enqueue(request);
    if (this.tap !== null) this.tap(name, sent, promise);
    return commandTracing() ? traceLeased(promise, this.#options, this.id, name, sent) : promise;
  }

  /** @internal The pool's telemetry (no credential), for traces. */
  get telemetry(): ConnectionTelemetry | undefined {
    return this.#options.telemetry;
  }

  /**
   * @internal Queues a request for the next write. A closed connection fails it at once (never written), so
   * its owner may send it elsewhere. A request that already settled (aborted) is not queued.
   */
  enqueue(request: CommandRequest): void {
    if (request.done) return;
    if (this.status !== 'ready') {
      const cause =
        this.closeCause ?? new ConnectionError(`Connection to ${this.address} is ${this.status}`);
      failOnClose(request, cause, false, this.address);
      return;
    }
    this.accept(request);
  }

  /** Puts a request in the outbox, for this turn's write. */
  private accept(request: CommandRequest): void {
    this.hold.hold();
    if (this.outbox.add(request)) this.largeInFlight++;
    if (request.deadline !== Infinity) this.deadlines.watch(request.deadline);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      // Replies outstanding: the server is busy with this socket, and the callbacks still to run in this poll
      // phase (other sockets' data, other HTTP requests) may issue more commands; they all leave in one write at
      // the end of the loop iteration. Nothing outstanding (one caller, a quiet spell): it leaves at once.
      if (this.replies.length > 0) setImmediate(flushConnection, this);
      else process.nextTick(flushConnection, this);
    }
  }

  /**
   * Closes gracefully: waits for outstanding replies, sends QUIT, and closes the socket, destroying it if the
   * server has not closed it within `timeoutMs` (default `connectTimeoutMs`). Idempotent.
   */
  async disconnect(timeoutMs = this.#options.connectTimeoutMs): Promise<void> {
    if (this.status === 'closed' || this.status === 'closing') return this.closed;
    if (this.status === 'connecting') {
      this.destroy();
      return this.closed;
    }
    this.status = 'closing';
    const quit = new CommandRequest(
      'QUIT',
      encodeCommand('QUIT', []),
      false,
      Date.now() + timeoutMs,
      () => this.socket.end(),
      () => this.destroy(),
    );
    this.accept(quit);
    const guard = setTimeout(() => this.destroy(), timerDelay(timeoutMs));
    await this.closed;
    clearTimeout(guard);
  }

  /**
   * Closes at once. Every outstanding command rejects with `ConnectionError` (`commandMayHaveRun` tells
   * whether it had been written), unless its owner takes it back to run elsewhere.
   */
  destroy(cause?: Error): void {
    if (this.status === 'closed') return;
    this.closeCause ??= cause;
    this.socket.destroy();
    this.shutDown();
  }

  /** Resolves once the socket is closed. */
  whenClosed(): Promise<void> {
    return this.closed;
  }

  /** Never shows credentials. */
  [inspect.custom](): string {
    return `Connection { id: ${this.id}, address: '${this.address}', state: '${this.status}', pending: ${this.pending} }`;
  }

  toJSON(): Record<string, unknown> {
    return { id: this.id, address: this.address, state: this.status, pending: this.pending };
  }

  /** @internal Writes everything queued since the last write in one go; ends the turn either way. */
  flush(): void {
    this.flushScheduled = false;
    if (this.waitingForDrain || this.status === 'closed' || this.outbox.length === 0) return;
    const ok = this.outbox.writeTo(this.socket, this.onSent, this.onRetired);
    this.lastActiveAt = Date.now();
    if (!ok) this.waitingForDrain = true;
  }

  private readonly onSent = (request: CommandRequest): void => {
    if (this.replies.length === 0) this.heardAt = Date.now();
    this.replies.push(request);
  };

  /** A request is done with this connection: its reply was read, or it left the outbox unwritten (withdrawn). */
  private readonly onRetired = (request: CommandRequest): void => {
    if (request.large) this.largeInFlight--;
    this.checkRoom();
    this.releaseIfIdle();
  };

  /** Lets the process exit while this connection is idle (see `SocketHold`). */
  private releaseIfIdle(): void {
    if (this.pending === 0 && (this.background || !this.subscribed)) this.hold.release();
  }

  /** The socket connected: runs the handshake, then takes commands; a failed handshake closes the connection. */
  private onConnected(): void {
    this.handshake().then(
      () => {
        if (this.status !== 'connecting') return;
        this.status = 'ready';
        this.lastActiveAt = Date.now();
        emitSafely(this, 'ready');
        if (this.outbox.length > 0 && !this.flushScheduled) {
          this.flushScheduled = true;
          process.nextTick(flushConnection, this);
        }
      },
      (error: Error) => this.destroy(error),
    );
  }

  /** Resolves when the handshake is done; rejects with the reason if the connection closes first. */
  whenReady(): Promise<void> {
    if (this.status === 'ready') return Promise.resolve();
    if (this.status !== 'connecting') {
      return Promise.reject(
        this.closeCause ?? new ConnectionError(`Connection to ${this.address} is closed`),
      );
    }
    return readyOrClosed(this, this.address);
  }

  /** Sends the handshake in one write; settles on the protocol the server speaks, or a typed error. */
  private async handshake(): Promise<void> {
    this.protocol = await runHandshake(this.#options, this.address, (request) =>
      this.accept(request),
    );
  }

  private checkRoom(): void {
    if (this.onRoom !== null && this.pending <= this.roomAt) {
      const onRoom = this.onRoom;
      this.onRoom = null;
      onRoom();
    }
  }

  /** Rejects expired requests (written ones keep their place) and destroys a connection stalled too long. */
  private onDeadline(): void {
    const next = sweepDeadlines(
      this.replies,
      this.outbox,
      this.#options,
      this.address,
      this.onRetired,
    );
    if (next instanceof ConnectionError) this.destroy(next);
    else if (next !== Infinity) this.deadlines.watch(next);
  }

  private shutDown(): void {
    if (this.status === 'closed') return;
    this.status = 'closed';
    this.decoder.stop();
    this.deadlines.clear();
    const cause = this.closeCause ?? new ConnectionError(`Connection to ${this.address} closed`);
    this.closeCause = cause;
    this.onRoom = null;
    let head = true;
    for (const request of this.replies.drain()) {
      failOnClose(request, cause, head, this.address);
      head = false;
    }
    for (const request of this.outbox.drain()) failOnClose(request, cause, false, this.address);
    this.largeInFlight = 0;
    this.onClosed();
    emitSafely(this, 'close', cause);
  }
}

function flushConnection(connection: Connection): void {
  connection.flush();
}
