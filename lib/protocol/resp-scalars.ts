import { constants } from 'node:buffer';
import { ProtocolError, ResponseError } from '../errors/redis-pool.errors';
import type { DecoderLimits, RedisReply } from './resp.types';

/*
 * Parsers for the text of one RESP line (lengths, integers, doubles) and the decoder's default limits. Each
 * either returns the exact value or throws `ProtocolError`; none allocates more than the line it reads.
 */

/** `parseLength`'s answer for RESP2 nil (`$-1`, `*-1`). */
export const NIL = -1;
/** `parseLength`'s answer for a streamed length (`?`). */
export const STREAMED = -2;

/** The limits a decoder applies when the caller sets none. */
export const DEFAULT_LIMITS: Required<DecoderLimits> = {
  maxDepth: 1024,
  maxAggregateLength: 100_000_000,
  maxBulkLength: 536_870_912,
  maxLineLength: 1_048_576,
};

const BIG_INTEGER = /^[-+]?\d+$/;
const DOUBLE = /^[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?$/;
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const MIN_SAFE = BigInt(Number.MIN_SAFE_INTEGER);

/** The error for a line whose CRLF has not come within `maxLineLength` bytes. */
export function lineTooLong(limits: Required<DecoderLimits>): ProtocolError {
  return new ProtocolError(`Malformed reply: line longer than ${limits.maxLineLength} bytes`);
}

/** The error for a streamed aggregate or string that grew past its limit (`unit` follows the number). */
export function tooLong(what: string, max: number, unit: string): ProtocolError {
  return new ProtocolError(`Malformed reply: ${what} longer than the limit of ${max}${unit}`);
}

/** The error for anything but a `;` chunk inside a streamed string. */
export function streamedStringInterrupted(): ProtocolError {
  return new ProtocolError('Malformed reply: streamed string interrupted by another type');
}

/** Parses an integer reply exactly: a `number` within the safe range, a `bigint` beyond it. */
export function parseInteger(buf: Buffer, start: number, end: number): number | bigint {
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
 * The value of a one-line reply other than an integer: simple string, error, RESP3 null, boolean, double or big
 * number, from the text between its type byte and CRLF. Any other type byte is a `ProtocolError`.
 */
export function parseLine(
  type: number,
  buf: Buffer,
  start: number,
  end: number,
  returnBuffers: boolean,
): RedisReply {
  switch (type) {
    case 43: // + simple string
      return returnBuffers
        ? Buffer.from(buf.subarray(start, end))
        : buf.toString('utf8', start, end);
    case 45: // - error
      return new ResponseError(buf.toString('utf8', start, end));
    case 95: // _ null
      if (end !== start) throw new ProtocolError('Malformed reply: null with content');
      return null;
    case 35: // # boolean
      if (end - start !== 1 || (buf[start] !== 116 && buf[start] !== 102)) {
        throw new ProtocolError('Malformed reply: boolean is neither t nor f');
      }
      return buf[start] === 116;
    case 44: // , double
      return parseDouble(buf.toString('latin1', start, end));
    case 40: {
      // ( big number
      const text = buf.toString('latin1', start, end);
      if (!BIG_INTEGER.test(text)) throw new ProtocolError('Malformed reply: invalid big number');
      return BigInt(text);
    }
    default:
      throw new ProtocolError(
        `Malformed reply: unknown type byte 0x${type.toString(16).padStart(2, '0')}`,
      );
  }
}

/**
 * Parses a declared length. `-1` is nil (RESP2) where allowed; `?` means streamed. Anything else must be
 * digits within `max`, checked before any memory is set aside for it.
 */
export function parseLength(
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

/**
 * The value of a bulk body (`$` string, `!` error, `=` verbatim string). A Buffer reply copies `body` unless it is
 * `owned` (a buffer of its own that nothing else views).
 */
export function bulkValue(
  type: number,
  body: Buffer,
  returnBuffers: boolean,
  owned: boolean,
): RedisReply {
  if (type === 33) return new ResponseError(body.toString('utf8'));
  if (type === 61) {
    // Verbatim strings carry a three-letter format and a colon ("txt:") before the text.
    if (body.length < 4 || body[3] !== 58) {
      throw new ProtocolError('Malformed reply: verbatim string without a format prefix');
    }
    body = body.subarray(4);
  }
  if (!returnBuffers) return utf8Text(body);
  return owned ? body : Buffer.from(body);
}

/** Parses the text of a RESP3 double, `inf`, `-inf` and `nan` included. */
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

/**
 * A body as UTF-8 text. A body longer than the longest JavaScript string may not fit in one; that is reported as
 * a `ProtocolError` (the connection closes) rather than thrown from inside a socket callback.
 */
export function utf8Text(body: Buffer): string {
  if (body.length <= constants.MAX_STRING_LENGTH) return body.toString('utf8');
  try {
    return body.toString('utf8');
  } catch (error) {
    throw new ProtocolError(
      `Reply too large: a string of ${body.length} bytes does not fit in a JavaScript string; read it as a Buffer`,
      { cause: error },
    );
  }
}
