const CRLF = '\r\n';

/**
 * Builders for RESP2 reply frames, for scripting a fake server. Frames are plain strings so
 * tests can concatenate, slice or corrupt them freely before writing.
 */
export const respEncode = {
  /** `+OK\r\n` */
  simple(value: string): string {
    return `+${value}${CRLF}`;
  },
  /** `-ERR boom\r\n` */
  error(message: string): string {
    return `-${message}${CRLF}`;
  },
  /** `:42\r\n` */
  integer(value: number | bigint): string {
    return `:${value}${CRLF}`;
  },
  /** `$3\r\nfoo\r\n`, or the null bulk `$-1\r\n`. Length counts UTF-8 bytes. */
  bulk(value: string | null): string {
    return value === null ? `$-1${CRLF}` : `$${Buffer.byteLength(value)}${CRLF}${value}${CRLF}`;
  },
  /** `*2\r\n` followed by the already-encoded frames, or the null array `*-1\r\n`. */
  array(frames: readonly string[] | null): string {
    return frames === null ? `*-1${CRLF}` : `*${frames.length}${CRLF}${frames.join('')}`;
  },
} as const;
