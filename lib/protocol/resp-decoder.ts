import { ProtocolError } from '../errors/redis-pool.errors';
import { GrowingBytes, growBulk, pendingBulk, type PendingBulk } from './bulk-buffer';
import { mapOf } from './resp-maps';
import {
  DEFAULT_LIMITS,
  NIL,
  STREAMED,
  bulkValue,
  lineTooLong,
  parseInteger,
  parseLength,
  parseLine,
  streamedStringInterrupted,
  tooLong,
  utf8Text,
} from './resp-scalars';
import type { DecoderHandlers, DecoderLimits, RedisMap, RedisReply } from './resp.types';

export type { DecoderHandlers } from './resp.types';

const CR = 13;
const LF = 10;

/** What kind of aggregate a frame on the stack is building. */
const enum Kind {
  Leaf,
  Array,
  Set,
  Map,
  Push,
  Attribute,
  StreamedString,
}

interface Frame {
  kind: Kind;
  /** Elements still expected (maps and attributes count keys and values); -1 when streamed. */
  remaining: number;
  items: RedisReply[];
  /** The bytes of a streamed string (`Kind.StreamedString` only). */
  bytes: GrowingBytes | null;
}

/**
 * Incremental, iterative RESP2/RESP3 decoder. Feed it socket chunks with `write()`; it resumes exactly where the
 * previous chunk ended (partial lines and bulk bodies are kept, never re-parsed) and keeps nested aggregates on
 * an explicit stack, so arbitrarily deep input cannot overflow the call stack.
 */
export class RespDecoder {
  /**
   * Decode strings as Buffers, and RESP3 maps as `RedisMapEntries` (keys byte-exact) instead of objects keyed by
   * text. Read at every string and map, so a connection may switch it between replies.
   */
  returnBuffers = false;

  private readonly limits: Required<DecoderLimits>;
  private readonly stack: Frame[] = [];
  /** Start of a line whose LF has not arrived yet (never contains an LF). */
  private tail: Buffer[] | null = null;
  private tailLength = 0;
  private bulk: PendingBulk | null = null;
  private stopped = false;

  constructor(
    private readonly handlers: DecoderHandlers,
    limits: DecoderLimits = {},
  ) {
    this.limits = { ...DEFAULT_LIMITS, ...limits };
  }

  /** Whether a reply is partly decoded (bytes of it have arrived, but not all of them). */
  get busy(): boolean {
    return this.stack.length !== 0 || this.tail !== null || this.bulk !== null;
  }

  /**
   * Bytes set aside for the bulk body still arriving (0 when none): its declared length for a bulk up to a few
   * MB, otherwise about twice what has arrived of it. For tests and diagnostics.
   * @internal
   */
  get bulkCapacity(): number {
    return this.bulk === null ? 0 : this.bulk.target.length;
  }

  /**
   * Whether the decoder still views bytes of a chunk already written (the start of a line whose end has not
   * arrived). Nothing else outlives `write()`: every value it delivers is a copy, so a reader may reuse the memory
   * of a chunk it wrote once this is false.
   */
  get holdsInput(): boolean {
    return this.tail !== null;
  }

  /** Stops decoding for good; later chunks are ignored. */
  stop(): void {
    this.stopped = true;
    this.stack.length = 0;
    this.tail = null;
    this.bulk = null;
  }

  /** Decodes as much of the stream as the chunk completes. */
  write(chunk: Buffer): void {
    if (this.stopped || chunk.length === 0) return;
    try {
      let buf = chunk;
      let pos = 0;
      if (this.bulk !== null) {
        pos = this.continueBulk(chunk);
        if (pos < 0 || this.stopped) return;
      } else if (this.tail !== null) {
        if (chunk.indexOf(LF) === -1) {
          this.tail.push(chunk);
          this.tailLength += chunk.length;
          if (this.tailLength > this.limits.maxLineLength + 2) throw lineTooLong(this.limits);
          return;
        }
        this.tail.push(chunk);
        buf = Buffer.concat(this.tail, this.tailLength + chunk.length);
        this.tail = null;
        this.tailLength = 0;
      }
      this.parse(buf, pos);
    } catch (error) {
      this.fail(error);
    }
  }

  /** Stops on a protocol error and reports it; anything else is a bug and is rethrown. */
  private fail(error: unknown): void {
    if (!(error instanceof ProtocolError)) throw error;
    this.stop();
    this.handlers.onError(error);
  }

  private parse(buf: Buffer, pos: number): void {
    const len = buf.length;
    const limits = this.limits;
    while (pos < len) {
      const type = buf[pos];
      const lf = buf.indexOf(LF, pos + 1);
      if (lf === -1) {
        if (len - pos > limits.maxLineLength + 2) throw lineTooLong(limits);
        this.tail = [buf.subarray(pos)];
        this.tailLength = len - pos;
        return;
      }
      // Measured as a held partial line is (up to its LF), so the error is the same however the bytes came.
      if (lf - pos > limits.maxLineLength + 2) throw lineTooLong(limits);
      const start = pos + 1;
      const end = lf - 1;
      if (end < start || buf[end] !== CR)
        throw new ProtocolError('Malformed reply: line not ended by CRLF');
      pos = lf + 1;

      let value: RedisReply;
      let kind = Kind.Leaf;
      switch (type) {
        case 58: // : integer
          value = parseInteger(buf, start, end);
          break;
        case 36: // $ bulk string
        case 33: // ! bulk error
        case 61: // = verbatim string
        case 59: {
          // ; streamed string chunk
          const streamed = type === 59 ? this.streamedString() : null;
          const n = parseLength(buf, start, end, type === 36, limits.maxBulkLength, 'bulk string');
          if (n === NIL) {
            value = null;
            break;
          }
          if (n === STREAMED) {
            if (type !== 36) throw new ProtocolError('Malformed reply: invalid bulk string length');
            this.open(Kind.StreamedString, -1);
            continue;
          }
          if (streamed !== null) {
            if (n === 0) {
              this.stack.pop();
              value = this.finish(streamed);
              break;
            }
            if ((streamed.bytes as GrowingBytes).length + n > limits.maxBulkLength) {
              throw tooLong('streamed string', limits.maxBulkLength, ' bytes');
            }
          }
          if (pos + n + 2 > len) {
            this.bulk = pendingBulk(type, n + 2, buf, pos);
            return;
          }
          if (buf[pos + n] !== CR || buf[pos + n + 1] !== LF) {
            throw new ProtocolError('Malformed reply: bulk string not ended by CRLF');
          }
          if (streamed !== null) {
            (streamed.bytes as GrowingBytes).append(buf, pos, pos + n);
            pos += n + 2;
            continue;
          }
          value = bulkValue(type, buf.subarray(pos, pos + n), this.returnBuffers, false);
          pos += n + 2;
          break;
        }
        case 42: // * array
        case 126: // ~ set
        case 37: // % map
        case 62: // > push
        case 124: {
          // | attribute
          kind = aggregateKind(type);
          const pairs = kind === Kind.Map || kind === Kind.Attribute;
          const max = limits.maxAggregateLength;
          const n = parseLength(buf, start, end, type === 42, max, 'aggregate');
          if (n === NIL) {
            value = null;
            kind = Kind.Leaf;
            break;
          }
          if (n === 0) {
            value = pairs ? this.finish({ kind, remaining: 0, items: [], bytes: null }) : [];
            break;
          }
          this.open(kind, n === STREAMED ? -1 : pairs ? n * 2 : n);
          continue;
        }
        case 46: {
          // . end of a streamed aggregate
          const top = this.stack[this.stack.length - 1];
          if (end !== start || top?.remaining !== -1 || top.kind === Kind.StreamedString) {
            throw new ProtocolError('Malformed reply: unexpected end of streamed aggregate');
          }
          this.stack.pop();
          kind = top.kind;
          value = this.finish(top);
          break;
        }
        default:
          // Every other line type is one line long: + - _ # , ( (and anything else is an error).
          value = parseLine(type, buf, start, end, this.returnBuffers);
      }
      if (!this.deliver(value, kind)) return;
    }
  }

  /**
   * Where the socket may read the rest of a bulk body still arriving, with no copy: the unfilled end of its
   * buffer, at least `minimum` and at most the bytes still due (so nothing after them lands there); a long bulk's
   * buffer grows first if less room is left. `null` when no bulk is arriving or fewer than `minimum` bytes of it
   * are still due. Report what was read with `filledDirectly`.
   */
  directTarget(minimum: number): Buffer | null {
    const bulk = this.bulk;
    if (bulk === null || this.stopped || bulk.total - bulk.filled < minimum) return null;
    try {
      growBulk(bulk, bulk.filled + minimum);
    } catch (error) {
      this.fail(error);
      return null;
    }
    return bulk.target.subarray(bulk.filled);
  }

  /** Counts `count` bytes the socket read into the buffer `directTarget()` gave, and delivers the value if done. */
  filledDirectly(count: number): void {
    const bulk = this.bulk;
    if (bulk === null || this.stopped) return;
    bulk.filled += count;
    if (bulk.filled !== bulk.total) return;
    try {
      this.finishBulk(bulk);
    } catch (error) {
      this.fail(error);
    }
  }

  /** Feeds a chunk to a bulk body still arriving; returns where the chunk continues, or -1 if it is used up. */
  private continueBulk(chunk: Buffer): number {
    const bulk = this.bulk as PendingBulk;
    const used = Math.min(chunk.length, bulk.total - bulk.filled);
    growBulk(bulk, bulk.filled + used);
    chunk.copy(bulk.target, bulk.filled, 0, used);
    bulk.filled += used;
    if (bulk.filled < bulk.total) return -1;
    return this.finishBulk(bulk) ? used : -1;
  }

  /** Delivers a bulk whose bytes have all arrived; false when decoding must pause or stop (as `deliver`). */
  private finishBulk(bulk: PendingBulk): boolean {
    this.bulk = null;
    const whole = bulk.target;
    const n = whole.length - 2;
    if (whole[n] !== CR || whole[n + 1] !== LF) {
      throw new ProtocolError('Malformed reply: bulk string not ended by CRLF');
    }
    if (bulk.type === 59) {
      (this.stack[this.stack.length - 1].bytes as GrowingBytes).append(whole, 0, n);
      return true;
    }
    // The buffer is ours alone, so a Buffer reply may view it instead of copying it again.
    return this.deliver(
      bulkValue(bulk.type, whole.subarray(0, n), this.returnBuffers, true),
      Kind.Leaf,
    );
  }

  private open(kind: Kind, remaining: number): void {
    const stack = this.stack;
    if (stack.length >= this.limits.maxDepth) {
      throw new ProtocolError(`Malformed reply: nesting deeper than ${this.limits.maxDepth}`);
    }
    if (stack.length !== 0 && stack[stack.length - 1].kind === Kind.StreamedString) {
      throw streamedStringInterrupted();
    }
    const bytes = kind === Kind.StreamedString ? new GrowingBytes() : null;
    stack.push({ kind, remaining, items: [], bytes });
  }

  /** The streamed string a `;` chunk belongs to: the innermost frame, which must be one. */
  private streamedString(): Frame {
    const top = this.stack.length === 0 ? undefined : this.stack[this.stack.length - 1];
    if (top === undefined || top.kind !== Kind.StreamedString) {
      throw new ProtocolError('Malformed reply: streamed string chunk outside a streamed string');
    }
    return top;
  }

  /**
   * Places a complete value: into its parent aggregate (completing parents as they fill), or out to the
   * handlers at the top level. Returns false when a handler stopped the decoder.
   */
  private deliver(value: RedisReply, kind: Kind): boolean {
    const stack = this.stack;
    while (stack.length !== 0) {
      if (kind === Kind.Attribute) {
        // An attribute describes the value after it and never counts as an element of its parent.
        this.handlers.onAttribute?.(value as RedisMap);
        return !this.stopped;
      }
      const top = stack[stack.length - 1];
      if (top.remaining < 0) {
        this.addStreamed(top, value);
        return true;
      }
      top.items.push(value);
      if (--top.remaining !== 0) return true;
      stack.pop();
      kind = top.kind;
      value = this.finish(top);
    }
    if (kind === Kind.Push) this.handlers.onPush(value as RedisReply[]);
    else if (kind === Kind.Attribute) this.handlers.onAttribute?.(value as RedisMap);
    else this.handlers.onReply(value);
    return !this.stopped;
  }

  /**
   * Adds an element to a streamed aggregate, which declares no length, so its element count is checked as the
   * elements arrive (maps count pairs, as a declared length does).
   */
  private addStreamed(frame: Frame, value: RedisReply): void {
    if (frame.kind === Kind.StreamedString) throw streamedStringInterrupted();
    const items = frame.items;
    items.push(value);
    const max = this.limits.maxAggregateLength;
    const pairs = frame.kind === Kind.Map || frame.kind === Kind.Attribute;
    if (items.length > (pairs ? 2 * max : max)) throw tooLong('streamed aggregate', max, '');
  }

  private finish(frame: Frame): RedisReply {
    const items = frame.items;
    switch (frame.kind) {
      case Kind.Map:
        // In buffer mode keys stay as decoded: text keys would merge keys that are not valid UTF-8.
        return mapOf(items, this.returnBuffers);
      case Kind.Attribute:
        // Attributes are metadata for the handler, always keyed by text.
        return mapOf(items, false);
      case Kind.StreamedString: {
        const whole = (frame.bytes as GrowingBytes).take();
        return this.returnBuffers ? whole : utf8Text(whole);
      }
      default:
        return items;
    }
  }
}

function aggregateKind(type: number): Kind {
  switch (type) {
    case 126:
      return Kind.Set;
    case 37:
      return Kind.Map;
    case 62:
      return Kind.Push;
    case 124:
      return Kind.Attribute;
    default:
      return Kind.Array;
  }
}
