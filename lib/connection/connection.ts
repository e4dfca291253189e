import { EventEmitter } from 'node:events';
import * as net from 'node:net';
import * as tls from 'node:tls';
import { inspect } from 'node:util';
import {
  AuthenticationError,
  CommandNotAllowedError,
  ConnectionError,
  ProtocolError,
  ResponseError,
  TimeoutError,
} from '../errors/redis-pool.errors';
import { RespDecoder } from '../protocol/resp-decoder';
import { commandName, encodeCommand, type EncodedCommand } from '../protocol/resp-encoder';
import type { RedisArgument, RedisReply } from '../protocol/resp.types';
import { Fifo } from '../utils/fifo';
import { blockingWaitMs, isSubscribeCommand, unsupported } from './command-policy';
import { addressOf, type ConnectionOptions } from './connection-options';
import { CommandRequest, settledBy, unsettled } from './command-request';
import { LeaseState } from './lease-state';
import { PubSubTracker } from './pubsub-tracker';
import { SocketReader } from './socket-reader';

let nextConnectionId = 1;

/** A command at least this long carries a large value; `largePending` counts them. */
const LARGE_REQUEST_BYTES = 64 * 1024;

type SocketLike = net.Socket | tls.TLSSocket;

/** The life of a connection: it only ever moves forward. */
export type ConnectionStatus = 'connecting' | 'ready' | 'closing' | 'closed';

/**
 * Events: `push` (a RESP3 push frame or a pub/sub message: the frame as an array) and `close` (the error that
 * closed it, or `undefined` for a requested close). It never emits `error`, so an unheard connection cannot
 * crash the process.
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
  /** @internal Called once when no reply is outstanding any more (the pool drains a connection for a lease). */
  onDrained: (() => void) | null = null;

  private status: ConnectionStatus = 'connecting';
  private readonly socket: SocketLike;
  private readonly decoder: RespDecoder;
  private readonly queue = new Fifo<CommandRequest>(64);
  private readonly pubsub = new PubSubTracker();
  /** Requests at the tail of `queue` not yet passed to `socket.write()`. */
  private unwritten = 0;
  /** Requests in `queue` marked `large`. */
  private largeInFlight = 0;
  private outText = '';
  private outParts: Array<string | Buffer> | null = null;
  private flushScheduled = false;
  private waitingForDrain = false;
  private timer: NodeJS.Timeout | null = null;
  private timerAt = Infinity;
  private closeCause: Error | undefined;
  private closed: Promise<void>;
  private onClosed!: () => void;

  private constructor(private readonly options: ConnectionOptions) {
    super();
    this.protocol = options.protocol;
    this.address = addressOf(options);
    this.closed = new Promise((resolve) => (this.onClosed = resolve));
    this.decoder = new RespDecoder(
      {
        onReply: (reply) => this.onReply(reply),
        onPush: (push) => this.onPush(push),
        onError: (error) => this.destroy(error),
      },
      options.decoderLimits,
    );
    this.socket = this.openSocket();
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

  /** Commands sent or queued whose replies have not arrived (timed-out ones included). */
  get pending(): number {
    return this.queue.length;
  }

  /**
   * Commands in flight that carry a large value (`LARGE_REQUEST_BYTES` or more encoded). The pool counts each as
   * a deep pipeline, so large values spread over connections instead of queueing behind each other on one.
   */
  get largePending(): number {
    return this.largeInFlight;
  }

  /** Commands are queued for this turn's write and have not been written yet. */
  get hasUnwritten(): boolean {
    return this.unwritten !== 0;
  }

  /** A command timed out and its reply is still outstanding: new work should go elsewhere. */
  get stalled(): boolean {
    const head = this.queue.peek();
    return head !== undefined && head.timedOut;
  }

  /** Subscribed to at least one channel, pattern or shard channel. */
  get subscribed(): boolean {
    return this.pubsub.count > 0;
  }

  /**
   * Runs one command on this connection and resolves with its reply. Commands issued in the same event-loop
   * turn leave in one socket write. On a leased connection this is how stateful and blocking commands run.
   */
  executeCommand<T = RedisReply>(command: string, ...args: RedisArgument[]): Promise<T> {
    return this.executeWith<T>(command, args, false);
  }

  /** Like `executeCommand`, with strings in the reply as Buffers. */
  executeCommandBuffer<T = RedisReply>(command: string, ...args: RedisArgument[]): Promise<T> {
    return this.executeWith<T>(command, args, true);
  }

  /** @internal Shared by the public command methods; tracks the connection state a lease changes. */
  executeWith<T>(
    command: string,
    args: readonly RedisArgument[],
    buffers: boolean,
    timeoutMs?: number,
  ): Promise<T> {
    let encoded: EncodedCommand;
    try {
      encoded = encodeCommand(command, args);
    } catch (error) {
      return Promise.reject(error);
    }
    const name = commandName(command);
    const refusal = unsupported(name, args);
    if (refusal !== undefined) return Promise.reject(new CommandNotAllowedError(refusal));
    this.lease.track(name, args);
    const wait = blockingWaitMs(name, args);
    const budget = (timeoutMs ?? this.options.commandTimeoutMs) + wait;
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
      request.confirmations = this.pubsub.expectedConfirmations(name, args);
    }
    const promise = settledBy<T>(request);
    this.enqueue(request);
    return promise;
  }

  /**
   * @internal Queues a request for the next write. A closed connection fails it at once (never written), so
   * its owner may send it elsewhere.
   */
  enqueue(request: CommandRequest): void {
    if (this.status !== 'ready') {
      const cause =
        this.closeCause ?? new ConnectionError(`Connection to ${this.address} is ${this.status}`);
      this.failRequest(request, cause, false);
      return;
    }
    this.accept(request);
    if (!this.flushScheduled && !this.waitingForDrain) {
      this.flushScheduled = true;
      process.nextTick(flushConnection, this);
    }
  }

  /** Puts a request in the reply queue and its bytes in the outbox. */
  private accept(request: CommandRequest): void {
    // The decoder's string mode follows the head of the queue; a request that becomes the head sets it.
    if (this.queue.length === 0) this.decoder.returnBuffers = request.buffers;
    this.queue.push(request);
    const encoded = request.encoded;
    let size: number;
    if (typeof encoded === 'string') {
      size = encoded.length;
      if (this.outParts === null) this.outText += encoded;
      else this.outParts.push(encoded);
    } else {
      if (this.outParts === null) {
        this.outParts = this.outText === '' ? [] : [this.outText];
        this.outText = '';
      }
      size = 0;
      for (const part of encoded) {
        size += part.length;
        this.outParts.push(part);
      }
    }
    if (size >= LARGE_REQUEST_BYTES) {
      request.large = true;
      this.largeInFlight++;
    }
    this.unwritten++;
    if (request.deadline < this.timerAt) this.armTimer(request.deadline);
  }

  /**
   * Closes gracefully: waits for outstanding replies, sends QUIT, and closes the socket, destroying it if the
   * server has not closed it within `timeoutMs` (default `connectTimeoutMs`). Idempotent.
   */
  async disconnect(timeoutMs = this.options.connectTimeoutMs): Promise<void> {
    if (this.status === 'closed') return this.closed;
    if (this.status === 'closing') return this.closed;
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
    this.pushRequest(quit);
    const guard = setTimeout(() => this.destroy(), timeoutMs);
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
    return `Connection { id: ${this.id}, address: '${this.address}', state: '${this.status}', pending: ${this.queue.length} }`;
  }

  toJSON(): Record<string, unknown> {
    return { id: this.id, address: this.address, state: this.status, pending: this.queue.length };
  }

  /** @internal Writes everything queued since the last write in one go. */
  flush(): void {
    this.flushScheduled = false;
    if (this.unwritten === 0 || this.waitingForDrain || this.status === 'closed') return;
    const queue = this.queue;
    for (let i = queue.length - this.unwritten; i < queue.length; i++)
      (queue.at(i) as CommandRequest).written = true;
    this.unwritten = 0;
    let ok: boolean;
    if (this.outParts === null) {
      // The encoder keeps string parts pure ASCII, so latin1 writes them as a plain copy.
      ok = this.socket.write(this.outText, 'latin1');
    } else {
      this.socket.cork();
      ok = true;
      for (const part of this.outParts) {
        ok = typeof part === 'string' ? this.socket.write(part, 'latin1') : this.socket.write(part);
      }
      this.socket.uncork();
    }
    this.outText = '';
    this.outParts = null;
    this.lastActiveAt = Date.now();
    if (!ok) this.waitingForDrain = true;
  }

  private openSocket(): SocketLike {
    const o = this.options;
    let socket: SocketLike;
    let readyEvent: string;
    const reader = new SocketReader(this.decoder, () => (this.lastActiveAt = Date.now()));
    if (o.path !== undefined) {
      socket = net.connect({ path: o.path, onread: reader.onread });
      readyEvent = 'connect';
    } else if (o.tls !== undefined) {
      // SNI carries a host name only; an IP address is verified against the certificate's IP SANs instead.
      const servername = o.tls.servername ?? (net.isIP(o.host) === 0 ? o.host : undefined);
      socket = tls.connect({ ...o.tls, host: o.host, port: o.port, servername });
      readyEvent = 'secureConnect';
      // TLS sockets take no `onread`; their decrypted bytes come as 'data' events.
      socket.on('data', (chunk: Buffer) => {
        // Once per chunk rather than once per reply: a chunk carries many replies under load.
        this.lastActiveAt = Date.now();
        this.decoder.write(chunk);
      });
    } else {
      socket = net.connect({ host: o.host, port: o.port, onread: reader.onread });
      readyEvent = 'connect';
    }
    socket.setNoDelay(true);
    const connectTimer = setTimeout(() => {
      this.destroy(
        new TimeoutError(`Connecting to ${this.address} timed out after ${o.connectTimeoutMs} ms`),
      );
    }, o.connectTimeoutMs);
    this.once('ready', () => clearTimeout(connectTimer));
    this.closed.then(() => clearTimeout(connectTimer));
    socket.once(readyEvent, () => {
      if (o.path === undefined && o.keepAliveMs > 0) socket.setKeepAlive(true, o.keepAliveMs);
      this.handshake().then(
        () => {
          if (this.status !== 'connecting') return;
          this.status = 'ready';
          this.lastActiveAt = Date.now();
          this.emit('ready');
          this.scheduleFlush();
        },
        (error: Error) => this.destroy(error),
      );
    });
    socket.on('drain', () => {
      this.waitingForDrain = false;
      this.flush();
    });
    socket.on('error', (error: Error) => {
      this.closeCause ??= new ConnectionError(
        `Connection to ${this.address} failed: ${error.message}`,
        {
          cause: error,
        },
      );
    });
    socket.on('close', () => this.shutDown());
    return socket;
  }

  /** Resolves when the handshake is done; rejects with the reason if the connection closes first. */
  whenReady(): Promise<void> {
    if (this.status === 'ready') return Promise.resolve();
    if (this.status !== 'connecting') {
      return Promise.reject(
        this.closeCause ?? new ConnectionError(`Connection to ${this.address} is closed`),
      );
    }
    return new Promise((resolve, reject) => {
      const onReady = () => {
        this.off('close', onClose);
        resolve();
      };
      const onClose = (cause?: Error) => {
        this.off('ready', onReady);
        reject(
          cause ?? new ConnectionError(`Connection to ${this.address} closed during the handshake`),
        );
      };
      this.once('ready', onReady);
      this.once('close', onClose);
    });
  }

  /** Sends the handshake in one write and maps its failures to clear, typed errors. */
  private async handshake(): Promise<void> {
    const o = this.options;
    if (this.protocol === 3) {
      const hello: RedisArgument[] = ['3'];
      if (o.password !== undefined) hello.push('AUTH', o.username ?? 'default', o.password);
      if (o.clientName !== undefined) hello.push('SETNAME', o.clientName);
      const steps: Array<[string, RedisArgument[]]> = [['HELLO', hello]];
      if (o.db !== 0) steps.push(['SELECT', [o.db]]);
      if (o.readOnly === true) steps.push(['READONLY', []]);
      const outcome = await this.runSteps(steps);
      if (outcome === undefined) return;
      // Servers before 6.0 know no HELLO: fall back to RESP2 and the classic commands.
      if (!(outcome.step === 'HELLO' && /unknown command|NOPROTO/i.test(outcome.error.message))) {
        throw this.handshakeError(outcome.step, outcome.error);
      }
      this.protocol = 2;
    }
    const steps: Array<[string, RedisArgument[]]> = [];
    if (o.password !== undefined) {
      steps.push(['AUTH', o.username !== undefined ? [o.username, o.password] : [o.password]]);
    }
    if (o.clientName !== undefined) steps.push(['CLIENT', ['SETNAME', o.clientName]]);
    if (o.db !== 0) steps.push(['SELECT', [o.db]]);
    if (o.readOnly === true) steps.push(['READONLY', []]);
    // Without anything else to send, a PING still proves the server answers before the pool trusts us.
    if (steps.length === 0) steps.push(['PING', []]);
    const outcome = await this.runSteps(steps);
    if (outcome !== undefined) throw this.handshakeError(outcome.step, outcome.error);
  }

  /** Runs handshake steps pipelined; returns the first failure, if any. */
  private async runSteps(
    steps: Array<[string, RedisArgument[]]>,
  ): Promise<{ step: string; error: Error } | undefined> {
    const results = await Promise.allSettled(
      steps.map(
        ([command, args]) =>
          new Promise<RedisReply>((resolve, reject) => {
            this.pushRequest(
              new CommandRequest(
                command,
                encodeCommand(command, args),
                false,
                Infinity,
                resolve,
                reject,
              ),
            );
          }),
      ),
    );
    for (let i = 0; i < results.length; i++) {
      const result = results[i];
      if (result.status === 'rejected') return { step: steps[i][0], error: result.reason as Error };
    }
    return undefined;
  }

  private handshakeError(step: string, error: Error): Error {
    if (!(error instanceof ResponseError)) return error;
    const context = `(${step} while connecting to ${this.address})`;
    if (
      error.code === 'WRONGPASS' ||
      error.code === 'NOAUTH' ||
      /without any password configured|invalid password/i.test(error.message)
    ) {
      return new AuthenticationError(`${error.message} ${context}`);
    }
    const mapped = new ResponseError(`${error.message} ${context}`);
    mapped.command = step;
    return mapped;
  }

  /** Queues an internal request (handshake, QUIT) whatever the status. */
  private pushRequest(request: CommandRequest): void {
    this.accept(request);
    this.scheduleFlush();
  }

  private scheduleFlush(): void {
    if (this.flushScheduled || this.unwritten === 0) return;
    this.flushScheduled = true;
    process.nextTick(flushConnection, this);
  }

  private onReply(reply: RedisReply): void {
    const queue = this.queue;
    const head = queue.peek();
    // RESP2 has no push type: once subscribed, messages and confirmations arrive as plain arrays.
    if (
      this.protocol === 2 &&
      ((head !== undefined && head.confirmations > 0) || this.pubsub.count > 0)
    ) {
      if (PubSubTracker.isPubSubFrame(reply)) {
        this.onPubSubFrame(reply);
        return;
      }
    }
    const request = queue.shift();
    if (request === undefined) {
      this.destroy(new ProtocolError(`Reply from ${this.address} with no command awaiting it`));
      return;
    }
    this.afterShift(request);
    if (request.done) return;
    if (reply instanceof ResponseError) {
      // LOADING: the server is replaying its data set and ran nothing; the owner may send it again later.
      if (
        reply.code === 'LOADING' &&
        request.owner !== null &&
        request.owner.retryLater(request, reply)
      )
        return;
      reply.command = request.name;
      request.reject(reply);
    } else {
      request.resolve(reply);
    }
  }

  private onPush(push: RedisReply[]): void {
    if (PubSubTracker.isPubSubFrame(push)) this.onPubSubFrame(push);
    else this.emit('push', push);
  }

  /** Passes a pub/sub message on, or counts a confirmation against the (UN)SUBSCRIBE awaiting it. */
  private onPubSubFrame(frame: RedisReply[]): void {
    const confirmation = this.pubsub.apply(frame);
    if (confirmation === undefined) {
      this.emit('push', frame);
      return;
    }
    const head = this.queue.peek();
    if (head !== undefined && head.confirmations > 0) {
      head.confirmations--;
      if (head.confirmations === 0) {
        this.queue.shift();
        this.afterShift(head);
        head.resolve(confirmation);
      }
    } else {
      // Nobody asked: the server unsubscribed us itself (Redis 7 does so for shard channels whose slot moved).
      this.emit('push', frame);
    }
  }

  private afterShift(request: CommandRequest): void {
    if (request.large) this.largeInFlight--;
    const next = this.queue.peek();
    this.decoder.returnBuffers = next !== undefined && next.buffers;
    if (next === undefined && this.onDrained !== null) {
      const drained = this.onDrained;
      this.onDrained = null;
      drained();
    }
  }

  private armTimer(at: number): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timerAt = at;
    // Unreferenced: while a command is outstanding its socket keeps the process alive anyway.
    this.timer = setTimeout(onConnectionTimer, Math.max(0, at - Date.now()), this).unref();
  }

  /** @internal Rejects expired requests (keeping their place) and destroys a connection stalled too long. */
  onTimer(): void {
    this.timer = null;
    this.timerAt = Infinity;
    const now = Date.now();
    const queue = this.queue;
    let next = Infinity;
    for (let i = 0; i < queue.length; i++) {
      const request = queue.at(i) as CommandRequest;
      if (request.done) continue;
      if (request.deadline <= now) {
        request.timedOut = true;
        request.reject(
          new TimeoutError(
            `${request.name} to ${this.address} timed out after ${request.timeoutMs || this.options.commandTimeoutMs} ms`,
            { commandMayHaveRun: request.written },
          ),
        );
      } else if (request.deadline < next) {
        next = request.deadline;
      }
    }
    const head = queue.peek();
    if (head !== undefined && head.timedOut) {
      // The late reply keeps its place so nothing shifts onto the wrong caller; but a server that stays silent
      // for a whole further timeout is treated as gone.
      const giveUpAt = head.deadline + this.options.commandTimeoutMs;
      if (giveUpAt <= now) {
        this.destroy(
          new ConnectionError(
            `No reply from ${this.address} within ${2 * this.options.commandTimeoutMs} ms`,
          ),
        );
        return;
      }
      if (giveUpAt < next) next = giveUpAt;
    }
    if (next !== Infinity) this.armTimer(next);
  }

  private shutDown(): void {
    if (this.status === 'closed') return;
    this.status = 'closed';
    this.decoder.stop();
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    const cause = this.closeCause ?? new ConnectionError(`Connection to ${this.address} closed`);
    this.closeCause = cause;
    this.unwritten = 0;
    this.outText = '';
    this.outParts = null;
    let head = true;
    for (const request of this.queue.drain()) {
      this.failRequest(request, cause, head);
      head = false;
    }
    this.onClosed();
    this.emit('close', cause);
  }

  /**
   * Fails one request because the connection closed: `ConnectionError` with `commandMayHaveRun`, unless its
   * owner takes it back. The one request whose own reply was malformed gets the `ProtocolError` itself.
   */
  private failRequest(request: CommandRequest, cause: Error, isHead: boolean): void {
    if (request.done) return;
    if (isHead && request.written && cause instanceof ProtocolError) {
      request.reject(cause);
      return;
    }
    const error = new ConnectionError(
      `${request.name} failed: connection to ${this.address} closed ${request.written ? 'after' : 'before'} the command was sent (${cause.message})`,
      { cause, commandMayHaveRun: request.written },
    );
    if (request.owner !== null && request.owner.retry(request, error)) return;
    request.reject(error);
  }
}

function flushConnection(connection: Connection): void {
  connection.flush();
}

function onConnectionTimer(connection: Connection): void {
  connection.onTimer();
}
