import type { RedisArgument } from '../protocol/resp.types';

/** How many hash slots a Redis Cluster divides its keys into. */
export const SLOT_COUNT = 16384;

const SLOT_MASK = SLOT_COUNT - 1;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;

/** CRC16-XMODEM (polynomial 0x1021, initial value 0) of each byte value entering the top of the register. */
const CRC16_TABLE = crc16Table();

function crc16Table(): Uint16Array {
  const table = new Uint16Array(256);
  for (let byte = 0; byte < 256; byte++) {
    let crc = byte << 8;
    for (let bit = 0; bit < 8; bit++) {
      crc = (crc & 0x8000) !== 0 ? (crc << 1) ^ 0x1021 : crc << 1;
    }
    table[byte] = crc;
  }
  return table;
}

/**
 * The hash slot of a key, as `CLUSTER KEYSLOT` computes it: CRC16-XMODEM of its bytes modulo {@link SLOT_COUNT}.
 * When the key holds a `{` and, after it, a `}` with at least one byte in between, only the bytes between the
 * first `{` and the first `}` after it are hashed (a hash tag), so `{user1}:a` and `{user1}:b` share a slot.
 *
 * The key is read as the encoder sends it: strings as UTF-8, Buffers and Uint8Arrays as they are, numbers and
 * bigints as their decimal text (integers in plain digits). ASCII strings are hashed without allocating.
 *
 * @throws TypeError for what the encoder refuses too: a non-finite number or a value that is no argument.
 */
export function keySlot(key: RedisArgument): number {
  if (typeof key === 'string') return textSlot(key);
  if (key instanceof Uint8Array) return bytesSlot(key);
  if (typeof key === 'number') return textSlot(numberText(key));
  if (typeof key === 'bigint') return textSlot(key.toString());
  throw new TypeError(`Invalid key: ${key === null ? 'null' : typeof key}`);
}

function textSlot(key: string): number {
  let start = 0;
  let end = key.length;
  const open = key.indexOf('{');
  if (open !== -1) {
    const close = key.indexOf('}', open + 1);
    if (close > open + 1) {
      start = open + 1;
      end = close;
    }
  }
  let crc = 0;
  for (let i = start; i < end; i++) {
    const code = key.charCodeAt(i);
    // Braces are ASCII and never occur inside a UTF-8 sequence, so the tag found here is the one in the bytes.
    if (code > 0x7f) return bytesSlot(Buffer.from(key, 'utf8'));
    crc = ((crc << 8) & 0xffff) ^ CRC16_TABLE[(crc >>> 8) ^ code];
  }
  return crc & SLOT_MASK;
}

function bytesSlot(key: Uint8Array): number {
  let start = 0;
  let end = key.length;
  const open = key.indexOf(OPEN_BRACE);
  if (open !== -1) {
    const close = key.indexOf(CLOSE_BRACE, open + 1);
    if (close > open + 1) {
      start = open + 1;
      end = close;
    }
  }
  let crc = 0;
  for (let i = start; i < end; i++) {
    crc = ((crc << 8) & 0xffff) ^ CRC16_TABLE[(crc >>> 8) ^ key[i]];
  }
  return crc & SLOT_MASK;
}

/** A number's text as the encoder writes it: integers in plain digits (never `1e+21`), others in shortest form. */
function numberText(value: number): string {
  if (Number.isSafeInteger(value)) return String(value);
  if (!Number.isFinite(value)) throw new TypeError(`Invalid key: ${value}`);
  return Number.isInteger(value) ? BigInt(value).toString() : String(value);
}
