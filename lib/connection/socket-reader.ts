import type { OnReadOpts } from 'node:net';
import type { RespDecoder } from '../protocol/resp-decoder';

/** Size of the memory block reads go into (Node reads 64 KiB at a time by default). */
const SLAB_BYTES = 64 * 1024;
/** A read gets at least this much room; a slab with less left is replaced. */
const MIN_READ_BYTES = 16 * 1024;
/** The rest of a bulk reply at least this long is read straight into the decoder's buffer. */
const MIN_DIRECT_BYTES = 64 * 1024;

/**
 * Feeds a plain TCP or Unix socket's bytes to a decoder through Node's `onread` option, with fewer copies than
 * `'data'` events:
 * - the rest of a large bulk reply (at least `MIN_DIRECT_BYTES` still due) is read straight into the buffer the
 *   decoder assembles it in, so all but the first read of a 1 MB value is never copied in user space (a value
 *   over a few MB gets its buffer as its bytes arrive, doubling, so it is copied about once more);
 * - other reads go into one slab, reused from its start as soon as the decoder holds no view of it (every value it
 *   delivers is a copy; only a partial line is kept as a view). While a partial line is held, reads continue after
 *   it, and a slab with too little room left is replaced, never overwritten. So no buffer is allocated per read.
 */
export class SocketReader {
  private slab = Buffer.alloc(0);
  private used = 0;
  /** The decoder's buffer the current read goes into, if it does. */
  private direct: Buffer | null = null;

  /**
   * @param decoder Where the bytes go.
   * @param onActivity Called once per read (a read carries many replies under load).
   */
  constructor(
    private readonly decoder: RespDecoder,
    private readonly onActivity: () => void,
  ) {}

  /** The `onread` option for `net.connect()`. */
  get onread(): OnReadOpts {
    return {
      buffer: () => this.nextBuffer(),
      // Never false, which would pause the socket.
      callback: (count, buffer) => {
        this.onRead(count, buffer);
        return true;
      },
    };
  }

  /** Where the next read goes: called by Node after each read, and once when the socket is made. */
  private nextBuffer(): Buffer {
    this.direct = this.decoder.directTarget(MIN_DIRECT_BYTES);
    if (this.direct !== null) return this.direct;
    if (this.slab.length - this.used < MIN_READ_BYTES) {
      this.slab = Buffer.allocUnsafeSlow(SLAB_BYTES);
      this.used = 0;
    }
    return this.slab.subarray(this.used);
  }

  private onRead(count: number, buffer: Uint8Array): void {
    this.onActivity();
    if (buffer === this.direct) {
      this.decoder.filledDirectly(count);
      return;
    }
    const start = this.used;
    this.decoder.write(this.slab.subarray(start, start + count));
    // Delivered values are copies, so unless a partial line still views them, these bytes may be read over.
    this.used = this.decoder.holdsInput ? start + count : 0;
  }
}
