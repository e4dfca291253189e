import { SocketReader } from '../../lib/connection/socket-reader';
import type { RespDecoder } from '../../lib/protocol/resp-decoder';
import { collectingDecoder, type Decoded } from './decode-helpers';

/** What a stream fed through a `SocketReader` produced, and how it was read. */
export interface Fed extends Decoded {
  /** Reads that went straight into the decoder's buffer for a bulk. */
  directReads: number;
  /** Distinct memory blocks the reader handed out for ordinary reads. */
  slabs: number;
  /** The decoder, as the stream left it. */
  decoder: RespDecoder;
}

/**
 * Plays Node's part in `onread` exactly: asks the reader for a buffer, lets "the kernel" write a read of the
 * given size into it, calls back, and repeats. Before each read the whole buffer handed out is filled with
 * garbage (its first `garbageBytes`, to keep fuzzing fast), as the kernel may write anywhere in it: if the reader
 * ever lent memory the decoder still views, a decoded value would come out corrupted. `afterRead` runs after each
 * read with the bytes read so far.
 */
export function feedThroughReader(
  stream: Buffer,
  readSizes: number[],
  returnBuffers = false,
  afterRead?: (decoder: RespDecoder, bytesRead: number) => void,
  limits?: Parameters<typeof collectingDecoder>[0],
  garbageBytes = Infinity,
): Fed {
  const { decoder, out } = collectingDecoder(limits, returnBuffers);
  let directReads = 0;
  const reader = new SocketReader(decoder, () => undefined);
  const { buffer, callback } = reader.onread as {
    buffer: () => Uint8Array;
    callback: (count: number, buffer: Uint8Array) => boolean;
  };
  const slabs = new Set<ArrayBufferLike>();
  let pos = 0;
  let next = buffer();
  for (let k = 0; pos < stream.length; k++) {
    const target = next;
    target.subarray(0, garbageBytes).fill(0xee);
    const count = Math.min(readSizes[k % readSizes.length], target.length, stream.length - pos);
    stream.copy(target, 0, pos, pos + count);
    pos += count;
    const due = decoder.directTarget(1);
    if (due?.buffer === target.buffer && due.byteOffset === target.byteOffset) directReads++;
    else slabs.add(target.buffer);
    expect(callback(count, target)).toBe(true);
    afterRead?.(decoder, pos);
    next = buffer();
  }
  return { ...out, directReads, slabs: slabs.size, decoder };
}
