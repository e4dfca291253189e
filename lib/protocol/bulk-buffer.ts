import { constants } from 'node:buffer';
import { ProtocolError } from '../errors/redis-pool.errors';

/*
 * Memory for bulk bodies still arriving, and for streamed strings. Nothing is set aside on the word of a header
 * alone beyond a few MB: a longer body gets memory as its bytes arrive, so a hostile `$536870912` costs what the
 * server actually sends, not what it declares.
 */

/**
 * A bulk whose whole length (body and CRLF) is at most this is set aside at once when its header arrives, so a
 * value of a few MB goes into its final buffer from the first byte on, copied once or read there in place.
 */
export const EAGER_BULK_BYTES = 4 * 1024 * 1024;

/**
 * A longer bulk starts with this much (or twice the bytes already in hand) and doubles as its bytes arrive,
 * never past its declared length. At least one socket read (64 KiB), so the socket can read in place at once.
 */
export const GROWING_BULK_START_BYTES = 64 * 1024;

/**
 * A bulk body (or streamed-string chunk) whose bytes are still arriving. They are gathered in `target`, which is
 * the final buffer from the start for a bulk up to `EAGER_BULK_BYTES` and grows (doubling) for a longer one, so
 * a large value is copied about once (or not at all when the socket reads into `target`).
 */
export interface PendingBulk {
  /** The type byte of its header: `$`, `!`, `=` or `;`. */
  readonly type: number;
  /** Body plus the trailing CRLF, as declared. */
  readonly total: number;
  /** Where the bytes go: `total` long, or shorter while a long bulk grows. Never longer than `total`. */
  target: Buffer;
  /** Bytes of `target` filled so far. */
  filled: number;
}

/**
 * Starts gathering a bulk of `total` bytes (body and CRLF) whose first bytes are `source` from `start` on (fewer
 * than `total` of them).
 */
export function pendingBulk(
  type: number,
  total: number,
  source: Buffer,
  start: number,
): PendingBulk {
  if (total > constants.MAX_LENGTH) throw noMemory(total);
  const inHand = source.length - start;
  const capacity =
    total <= EAGER_BULK_BYTES
      ? total
      : Math.min(total, Math.max(GROWING_BULK_START_BYTES, inHand * 2));
  const target = allocate(capacity, total);
  return { type, total, target, filled: source.copy(target, 0, start) };
}

/**
 * Makes room in `bulk.target` for `needed` bytes in all (at most `bulk.total`): at least doubles it, so a long
 * bulk is copied O(1) times over, and never past `bulk.total`.
 */
export function growBulk(bulk: PendingBulk, needed: number): void {
  if (needed <= bulk.target.length) return;
  const capacity = Math.min(bulk.total, Math.max(needed, bulk.target.length * 2));
  const target = allocate(capacity, bulk.total);
  bulk.target.copy(target, 0, 0, bulk.filled);
  bulk.target = target;
}

/**
 * The bytes of a streamed string (`$?` and its `;n` chunks), gathered in one buffer that doubles as it fills:
 * about two bytes of memory per byte received, however small the chunks.
 */
export class GrowingBytes {
  private buffer: Buffer = Buffer.alloc(0);
  private used = 0;

  /** Bytes gathered so far. */
  get length(): number {
    return this.used;
  }

  /** Appends `source[start, end)`. */
  append(source: Buffer, start: number, end: number): void {
    const needed = this.used + (end - start);
    if (needed > this.buffer.length) {
      const grown = allocate(Math.max(needed, this.buffer.length * 2, 256), needed + 2);
      this.buffer.copy(grown, 0, 0, this.used);
      this.buffer = grown;
    }
    this.used += source.copy(this.buffer, this.used, start, end);
  }

  /** The bytes gathered, in a buffer of their own exactly as long as they are. */
  take(): Buffer {
    const bytes = this.buffer;
    if (bytes.length === this.used) return bytes;
    return Buffer.from(bytes.subarray(0, this.used));
  }
}

/**
 * Memory of its own, not a pooled slice, since a Buffer reply views it and it may be large. A size the process
 * cannot set aside is a `ProtocolError` (the connection closes), never a crash.
 */
function allocate(size: number, total: number): Buffer {
  try {
    return Buffer.allocUnsafeSlow(size);
  } catch (error) {
    throw noMemory(total, error);
  }
}

function noMemory(total: number, cause?: unknown): ProtocolError {
  return new ProtocolError(`Malformed reply: no memory for a bulk string of ${total - 2} bytes`, {
    cause,
  });
}
