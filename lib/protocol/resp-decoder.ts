import { ProtocolError, ResponseError } from '../errors/redis-pool.errors';
import type { DecoderLimits, RedisMap, RedisReply } from './resp.types';

const CR = 13;
const LF = 10;

/** Length sentinels returned by `parseLength`. */
const NIL = -1;
const STREAMED = -2;

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
}

/**
 * A bulk body (or streamed-string chunk) whose bytes are still arriving. They are gathered in `target`, allocated
 * once at its final size, so a large value is copied once (or not at all when the socket reads into `target`).
 */
interface PendingBulk {
  type: number;
  /** Body plus the trailing CRLF; `target.length`. */
  target: Buffer;
  /** Bytes of `target` filled so far. */
  filled: number;
}

/** Where decoded values go. Callbacks run synchronously, in wire order. */
export interface DecoderHandlers {
  /** A complete top-level reply. An error reply arrives as a `ResponseError` value. */
  onReply(reply: RedisReply): void;
  /** A RESP3 push frame (pub/sub messages, invalidations). Never a reply. */
  onPush(push: RedisReply[]): void;
  /** A RESP3 attribute that preceded a value. Never a reply. */
  onAttribute?(attribute: RedisMap): void;
  /** The stream is not valid RESP. The decoder stops; the connection must be closed. */
  onError(error: ProtocolError): void;
}

const DEFAULT_LIMITS: Required<DecoderLimits> = {
  maxDepth: 1024,
  maxAggregateLength: 100_000_000,
  maxBulkLength: 536_870_912,
  maxLineLength: 1_048_576,
};

const BIG_INTEGER = /^[-+]?\d+$/;
const DOUBLE = /^[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?$/;
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const MIN_SAFE = BigInt(Number.MIN_SAFE_INTEGER);

/**
 * Incremental, iterative RESP2/RESP3 decoder. Feed it socket chunks with `write()`; it resumes exactly where the
 * previous chunk ended (partial lines and bulk bodies are kept, never re-parsed) and keeps nested aggregates on
 * an explicit stack, so arbitrarily deep input cannot overflow the call stack.
 */
export class RespDecoder {
  /** Decode strings as Buffers. Read at every string, so a connection may switch it between replies. */
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
      const start = pos + 1;
      const end = lf - 1;
      if (end < start || buf[end] !== CR)
        throw new ProtocolError('Malformed reply: line not ended by CRLF');
      if (end - start > limits.maxLineLength) throw lineTooLong(limits);
      pos = lf + 1;

      let value: RedisReply;
      let kind = Kind.Leaf;
      switch (type) {
        case 43: // + simple string
          value = this.returnBuffers
            ? Buffer.from(buf.subarray(start, end))
            : buf.toString('utf8', start, end);
          break;
        case 45: // - error
          value = new ResponseError(buf.toString('utf8', start, end));
          break;
        case 58: // : integer
          value = parseInteger(buf, start, end);
          break;
        case 36: // $ bulk string
        case 33: // ! bulk error
        case 61: // = verbatim string
        case 59: {
          // ; streamed string chunk
          if (type === 59 && this.topKind() !== Kind.StreamedString) {
            throw new ProtocolError(
              'Malformed reply: streamed string chunk outside a streamed string',
            );
          }
          const n = parseLength(buf, start, end, type === 36, limits.maxBulkLength, 'bulk string');
          if (n === NIL) {
            value = null;
            break;
          }
          if (n === STREAMED) {
            this.open(Kind.StreamedString, -1);
            continue;
          }
          if (type === 59 && n === 0) {
            const frame = this.stack.pop() as Frame;
            value = this.finish(frame);
            break;
          }
          if (pos + n + 2 > len) {
            const target = bulkBuffer(n + 2);
            this.bulk = { type, target, filled: buf.copy(target, 0, pos) };
            return;
          }
          if (buf[pos + n] !== CR || buf[pos + n + 1] !== LF) {
            throw new ProtocolError('Malformed reply: bulk string not ended by CRLF');
          }
          const body = buf.subarray(pos, pos + n);
          pos += n + 2;
          if (type === 59) {
            this.stack[this.stack.length - 1].items.push(Buffer.from(body));
            continue;
          }
          value = this.bulkValue(type, body);
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
          const n = parseLength(
            buf,
            start,
            end,
            type === 42,
            limits.maxAggregateLength,
            'aggregate',
          );
          if (n === NIL) {
            value = null;
            kind = Kind.Leaf;
            break;
          }
          if (n === 0) {
            value = pairs ? (Object.create(null) as RedisMap) : [];
            break;
          }
          this.open(kind, n === STREAMED ? -1 : pairs ? n * 2 : n);
          continue;
        }
        case 95: // _ null
          if (end !== start) throw new ProtocolError('Malformed reply: null with content');
          value = null;
          break;
        case 35: // # boolean
          if (end - start !== 1 || (buf[start] !== 116 && buf[start] !== 102)) {
            throw new ProtocolError('Malformed reply: boolean is neither t nor f');
          }
          value = buf[start] === 116;
          break;
        case 44: // , double
          value = parseDouble(buf.toString('latin1', start, end));
          break;
        case 40: {
          // ( big number
          const text = buf.toString('latin1', start, end);
          if (!BIG_INTEGER.test(text))
            throw new ProtocolError('Malformed reply: invalid big number');
          value = BigInt(text);
          break;
        }
        case 46: {
          // . end of a streamed aggregate
          const top = this.stack[this.stack.length - 1];
          if (
            end !== start ||
            top === undefined ||
            top.remaining !== -1 ||
            top.kind === Kind.StreamedString
          ) {
            throw new ProtocolError('Malformed reply: unexpected end of streamed aggregate');
          }
          this.stack.pop();
          kind = top.kind;
          value = this.finish(top);
          break;
        }
        default:
          throw new ProtocolError(
            `Malformed reply: unknown type byte 0x${type.toString(16).padStart(2, '0')}`,
          );
      }
      if (!this.deliver(value, kind)) return;
    }
  }

  /**
   * Where the socket may read the rest of a bulk body still arriving, with no copy: the unfilled end of its
   * buffer, exactly as long as the bytes still due (so nothing after them lands there). `null` when no bulk is
   * arriving or fewer than `minimum` bytes of it are still due. Report what was read with `filledDirectly`.
   */
  directTarget(minimum: number): Buffer | null {
    const bulk = this.bulk;
    if (bulk === null || this.stopped || bulk.target.length - bulk.filled < minimum) return null;
    return bulk.target.subarray(bulk.filled);
  }

  /** Counts `count` bytes the socket read into the buffer `directTarget()` gave, and delivers the value if done. */
  filledDirectly(count: number): void {
    const bulk = this.bulk;
    if (bulk === null || this.stopped) return;
    bulk.filled += count;
    if (bulk.filled !== bulk.target.length) return;
    try {
      this.finishBulk(bulk);
    } catch (error) {
      this.fail(error);
    }
  }

  /** Feeds a chunk to a bulk body still arriving; returns where the chunk continues, or -1 if it is used up. */
  private continueBulk(chunk: Buffer): number {
    const bulk = this.bulk as PendingBulk;
    const used = chunk.copy(bulk.target, bulk.filled);
    bulk.filled += used;
    if (bulk.filled < bulk.target.length) return -1;
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
    // The buffer is ours alone, so a Buffer reply may view it instead of copying it again.
    const body = whole.subarray(0, n);
    if (bulk.type === 59) {
      this.stack[this.stack.length - 1].items.push(body);
      return true;
    }
    const value = bulk.type === 36 && this.returnBuffers ? body : this.bulkValue(bulk.type, body);
    return this.deliver(value, Kind.Leaf);
  }

  private bulkValue(type: number, body: Buffer): RedisReply {
    if (type === 33) return new ResponseError(body.toString('utf8'));
    if (type === 61) {
      // Verbatim strings carry a three-letter format and a colon ("txt:") before the text.
      if (body.length < 4 || body[3] !== 58) {
        throw new ProtocolError('Malformed reply: verbatim string without a format prefix');
      }
      body = body.subarray(4);
    }
    return this.returnBuffers ? Buffer.from(body) : body.toString('utf8');
  }

  private open(kind: Kind, remaining: number): void {
    if (this.stack.length >= this.limits.maxDepth) {
      throw new ProtocolError(`Malformed reply: nesting deeper than ${this.limits.maxDepth}`);
    }
    this.stack.push({ kind, remaining, items: [] });
  }

  private topKind(): Kind | undefined {
    return this.stack.length === 0 ? undefined : this.stack[this.stack.length - 1].kind;
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
      top.items.push(value);
      if (top.remaining < 0 || --top.remaining !== 0) return true;
      stack.pop();
      kind = top.kind;
      value = this.finish(top);
    }
    if (kind === Kind.Push) this.handlers.onPush(value as RedisReply[]);
    else if (kind === Kind.Attribute) this.handlers.onAttribute?.(value as RedisMap);
    else this.handlers.onReply(value);
    return !this.stopped;
  }

  private finish(frame: Frame): RedisReply {
    const items = frame.items;
    switch (frame.kind) {
      case Kind.Map:
      case Kind.Attribute: {
        if (items.length % 2 !== 0)
          throw new ProtocolError('Malformed reply: map with a key but no value');
        const map = Object.create(null) as RedisMap;
        for (let i = 0; i < items.length; i += 2) map[mapKey(items[i])] = items[i + 1];
        return map;
      }
      case Kind.StreamedString: {
        const whole = Buffer.concat(items as Buffer[]);
        return this.returnBuffers ? whole : whole.toString('utf8');
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

function mapKey(key: RedisReply): string {
  if (typeof key === 'string') return key;
  if (Buffer.isBuffer(key)) return key.toString('utf8');
  return String(key);
}

/**
 * Memory for a bulk body still arriving: its own, not a pooled slice, since a Buffer reply views it and it may be
 * large. Pages are only committed as bytes arrive; a length the process cannot set aside is a ProtocolError.
 */
function bulkBuffer(size: number): Buffer {
  try {
    return Buffer.allocUnsafeSlow(size);
  } catch (error) {
    throw new ProtocolError(`Malformed reply: no memory for a bulk string of ${size - 2} bytes`, {
      cause: error,
    });
  }
}

function lineTooLong(limits: Required<DecoderLimits>): ProtocolError {
  return new ProtocolError(`Malformed reply: line longer than ${limits.maxLineLength} bytes`);
}

/** Parses an integer reply exactly: a `number` within the safe range, a `bigint` beyond it. */
function parseInteger(buf: Buffer, start: number, end: number): number | bigint {
  let i = start;
  const negative = buf[i] === 45;
  if (negative || buf[i] === 43) i++;
  if (i === end) throw new ProtocolError('Malformed reply: empty integer');
  if (end - i <= 15) {
    let n = 0;
    for (; i < end; i++) {
      const digit = buf[i] - 48;
      if (digit < 0 || digit > 9) throw new ProtocolError('Malformed reply: invalid integer');
      n = n * 10 + digit;
    }
    return negative ? -n || 0 : n;
  }
  const text = buf.toString('latin1', start, end);
  if (!BIG_INTEGER.test(text)) throw new ProtocolError('Malformed reply: invalid integer');
  const big = BigInt(text);
  return big <= MAX_SAFE && big >= MIN_SAFE ? Number(big) : big;
}

/**
 * Parses a declared length. `-1` is nil (RESP2) where allowed; `?` means streamed. Anything else must be
 * digits within `max`, checked before any memory is set aside for it.
 */
function parseLength(
  buf: Buffer,
  start: number,
  end: number,
  allowNil: boolean,
  max: number,
  what: string,
): number {
  const size = end - start;
  if (size === 1 && buf[start] === 63) return STREAMED;
  if (size === 2 && buf[start] === 45 && buf[start + 1] === 49 && allowNil) return NIL;
  if (size === 0 || size > 15) throw new ProtocolError(`Malformed reply: invalid ${what} length`);
  let n = 0;
  for (let i = start; i < end; i++) {
    const digit = buf[i] - 48;
    if (digit < 0 || digit > 9) throw new ProtocolError(`Malformed reply: invalid ${what} length`);
    n = n * 10 + digit;
  }
  if (n > max)
    throw new ProtocolError(`Malformed reply: ${what} length ${n} exceeds the limit of ${max}`);
  return n;
}

function parseDouble(text: string): number {
  switch (text) {
    case 'inf':
    case '+inf':
      return Infinity;
    case '-inf':
      return -Infinity;
    case 'nan':
    case '-nan':
    case '+nan':
      return NaN;
  }
  if (!DOUBLE.test(text)) throw new ProtocolError('Malformed reply: invalid double');
  return Number(text);
}
