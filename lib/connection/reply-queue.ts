import { ProtocolError, ResponseError } from '../errors/redis-pool.errors';
import type { RespDecoder } from '../protocol/resp-decoder';
import type { RedisReply } from '../protocol/resp.types';
import { Fifo } from '../utils/fifo';
import type { CommandRequest } from './command-request';
import { carriesCredentials, redactEcho } from './handshake';
import { PubSubTracker } from './pubsub-tracker';

/** What the reply queue tells its connection. */
export interface ReplyQueueHost {
  readonly address: string;
  /** The protocol the handshake settled on: RESP2 sends pub/sub frames as plain arrays. */
  protocol(): 2 | 3;
  /** A push frame or pub/sub message for the connection's listeners. */
  push(frame: RedisReply[]): void;
  /** A request left the queue (answered or confirmed). */
  shifted(request: CommandRequest): void;
  /** The server sent something that cannot be matched to a request: the connection must close. */
  broken(error: ProtocolError): void;
}

/**
 * The written requests of one connection, oldest first, and how decoded frames reach them: a reply settles the
 * head (a request that was abandoned has its reply read and dropped, so nothing shifts onto the wrong caller),
 * pub/sub confirmations count down the (UN)SUBSCRIBE awaiting them, and messages go to the listeners.
 */
export class ReplyQueue {
  private readonly queue = new Fifo<CommandRequest>(64);
  /** The connection's subscriptions. */
  readonly pubsub = new PubSubTracker();
  /** How strings decode while no reply is awaited (pub/sub messages, pushes): as Buffers, or as UTF-8 text. */
  private idleBuffers = false;

  constructor(
    private readonly host: ReplyQueueHost,
    private readonly decoder: RespDecoder,
  ) {}

  get length(): number {
    return this.queue.length;
  }

  /** The oldest request awaiting its reply. */
  peek(): CommandRequest | undefined {
    return this.queue.peek();
  }

  /** The request `index` places from the oldest. */
  at(index: number): CommandRequest | undefined {
    return this.queue.at(index);
  }

  /** A request was written: its reply comes after those of every request before it. */
  push(request: CommandRequest): void {
    this.queue.push(request);
    if (this.queue.length === 1) this.decoder.returnBuffers = request.buffers;
  }

  /**
   * From now on, strings in frames that arrive while no reply is awaited (pub/sub messages, RESP3 pushes) decode
   * as Buffers: their bytes reach the listeners exactly as Redis sent them.
   */
  decodeIdleAsBuffers(): void {
    this.idleBuffers = true;
    if (this.queue.length === 0) this.decoder.returnBuffers = true;
  }

  /** Empties the queue, oldest first (the connection closed). */
  drain(): CommandRequest[] {
    return this.queue.drain();
  }

  /** A reply decoded from the socket. */
  onReply(reply: RedisReply): void {
    const head = this.queue.peek();
    // RESP2 has no push type: once subscribed, messages and confirmations arrive as plain arrays.
    if (
      this.host.protocol() === 2 &&
      ((head !== undefined && head.confirmations > 0) || this.pubsub.count > 0) &&
      PubSubTracker.isPubSubFrame(reply)
    ) {
      this.onPubSubFrame(reply);
      return;
    }
    const request = this.queue.shift();
    if (request === undefined) {
      this.host.broken(
        new ProtocolError(`Reply from ${this.host.address} with no command awaiting it`),
      );
      return;
    }
    this.afterShift(request);
    if (request.done) return;
    if (!(reply instanceof ResponseError)) {
      request.resolve(reply);
      return;
    }
    // LOADING: the server is replaying its data set and ran nothing; the owner may send it again later.
    if (
      reply.code === 'LOADING' &&
      request.owner !== null &&
      request.owner.retryLater(request, reply)
    )
      return;
    const error = carriesCredentials(request.name)
      ? new ResponseError(redactEcho(reply.message))
      : reply;
    error.command = request.name;
    request.reject(error);
  }

  /** A RESP3 push frame decoded from the socket. */
  onPush(frame: RedisReply[]): void {
    if (PubSubTracker.isPubSubFrame(frame)) this.onPubSubFrame(frame);
    else this.host.push(frame);
  }

  /** Counts a confirmation against the (UN)SUBSCRIBE awaiting it, or passes a message on. */
  private onPubSubFrame(frame: RedisReply[]): void {
    const confirmation = this.pubsub.apply(frame);
    const head = this.queue.peek();
    if (confirmation !== undefined && head !== undefined && head.confirmations > 0) {
      head.confirmations--;
      if (head.confirmations === 0) {
        this.queue.shift();
        this.afterShift(head);
        head.resolve(confirmation);
      }
      return;
    }
    // A message, or a confirmation nobody asked for: the server unsubscribed us itself (Redis 7 does so for
    // shard channels whose slot moved).
    this.host.push(frame);
  }

  private afterShift(request: CommandRequest): void {
    const next = this.queue.peek();
    // The decoder's string mode follows the request at the head of the queue.
    this.decoder.returnBuffers = next === undefined ? this.idleBuffers : next.buffers;
    this.host.shifted(request);
  }
}
