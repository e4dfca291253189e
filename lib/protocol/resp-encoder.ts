import { commandName, commandWords, type CommandWords } from './command-name';
import type { RedisArgument } from './resp.types';

export { commandName } from './command-name';

/**
 * One encoded command: a string when every part is ASCII text (the common case, written with one copy), or parts
 * in order where Buffers pass through without being copied. String parts are always pure ASCII, so a connection
 * may write them as latin1, a plain copy, instead of UTF-8 encoding them; text with other characters travels as
 * a Buffer of its UTF-8 bytes.
 */
export type EncodedCommand = string | Array<string | Buffer>;

/**
 * The longest argument Redis accepts by default (`proto-max-bulk-len`, 512 MB). A longer one is refused before it
 * is queued: sent, the server would reset the connection under every other caller sharing it.
 */
export const MAX_ARGUMENT_BYTES = 512 * 1024 * 1024;

/**
 * Encodes a command as a RESP array of bulk strings (never the inline form), so no argument can be mistaken
 * for protocol: lengths are byte lengths and the bytes go through as they are.
 *
 * A command name with spaces (`'CLIENT SETNAME'`) is split into words, as redis-py does.
 *
 * @throws TypeError naming the argument position when an argument is `undefined`, `null`, a boolean, an object,
 *   `NaN` or an infinity, or when the name is empty; `RangeError` when an argument is longer than
 *   `MAX_ARGUMENT_BYTES`. Nothing is encoded then.
 */
export function encodeCommand(command: string, args: readonly RedisArgument[]): EncodedCommand {
  return encodeWords(commandWords(command), args, command);
}

/** `encodeCommand` for a name already normalised by `commandWords` (the send paths read it once). */
export function encodeWords(
  words: CommandWords,
  args: readonly RedisArgument[],
  command: string,
): EncodedCommand {
  const names = words.all;
  const count = names.length + args.length;
  // Built inline, with no closure or object per command: this runs for every command sent.
  let text = `*${count}\r\n`;
  let parts: Array<string | Buffer> | null = null;
  if (words.encoded !== null) {
    text += words.encoded;
  } else {
    for (let i = 0; i < names.length; i++) {
      const word = names[i];
      const bytes = Buffer.byteLength(word);
      if (bytes === word.length) {
        text += `$${bytes}\r\n${word}\r\n`;
      } else {
        (parts ??= []).push(`${text}$${bytes}\r\n`, Buffer.from(word, 'utf8'));
        text = '\r\n';
      }
    }
  }
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (typeof arg === 'string') {
      // Byte length equals character length exactly when a string is pure ASCII; other text goes as UTF-8 bytes.
      const bytes = Buffer.byteLength(arg);
      if (bytes > MAX_ARGUMENT_BYTES) throw tooLarge(i, command, bytes);
      if (bytes === arg.length) {
        text += `$${bytes}\r\n${arg}\r\n`;
      } else {
        (parts ??= []).push(`${text}$${bytes}\r\n`, Buffer.from(arg, 'utf8'));
        text = '\r\n';
      }
    } else if (typeof arg === 'number') {
      const formatted = formatNumber(arg, i, command);
      text += `$${formatted.length}\r\n${formatted}\r\n`;
    } else if (typeof arg === 'bigint') {
      const formatted = arg.toString();
      text += `$${formatted.length}\r\n${formatted}\r\n`;
    } else if (arg instanceof Uint8Array) {
      const bytes = Buffer.isBuffer(arg)
        ? arg
        : Buffer.from(arg.buffer, arg.byteOffset, arg.byteLength);
      if (bytes.length > MAX_ARGUMENT_BYTES) throw tooLarge(i, command, bytes.length);
      (parts ??= []).push(`${text}$${bytes.length}\r\n`, bytes);
      text = '\r\n';
    } else {
      throw invalidArgument(i, command, arg === null ? 'null' : typeof arg);
    }
  }
  if (parts === null) return text;
  parts.push(text);
  return parts;
}

/** Formats a number exactly as Redis parses it: integers in plain digits, other values in shortest form. */
function formatNumber(value: number, index: number, command: string): string {
  if (Number.isSafeInteger(value)) return String(value);
  if (!Number.isFinite(value)) throw invalidArgument(index, command, String(value));
  // Integers beyond 2^53 would print in exponent form ("1e+21"), which Redis rejects for integer arguments.
  return Number.isInteger(value) ? BigInt(value).toString() : String(value);
}

function invalidArgument(index: number, command: string, what: string): TypeError {
  return new TypeError(
    `Invalid argument #${index + 1} to ${commandName(command)}: ${what} (expected a string, number, bigint or Buffer)`,
  );
}

function tooLarge(index: number, command: string, bytes: number): RangeError {
  return new RangeError(
    `Argument #${index + 1} to ${commandName(command)} is ${bytes} bytes, over the ${MAX_ARGUMENT_BYTES}-byte limit of a Redis bulk string (proto-max-bulk-len)`,
  );
}
