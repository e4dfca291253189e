import type { RedisArgument } from './resp.types';

/**
 * One encoded command: a string when every part is ASCII text (the common case, written with one copy), or parts
 * in order where Buffers pass through without being copied. String parts are always pure ASCII, so a connection
 * may write them as latin1, a plain copy, instead of UTF-8 encoding them; text with other characters travels as
 * a Buffer of its UTF-8 bytes.
 */
export type EncodedCommand = string | Array<string | Buffer>;

/**
 * Encodes a command as a RESP array of bulk strings (never the inline form), so no argument can be mistaken
 * for protocol: lengths are byte lengths and the bytes go through as they are.
 *
 * A command name with spaces (`'CLIENT SETNAME'`) is split into words, as redis-py does.
 *
 * @throws TypeError naming the argument position when an argument is `undefined`, `null`, a boolean, an object,
 *   `NaN` or an infinity; nothing is encoded then.
 */
export function encodeCommand(command: string, args: readonly RedisArgument[]): EncodedCommand {
  if (typeof command !== 'string' || command.length === 0) {
    throw new TypeError('Command name must be a non-empty string');
  }
  const words =
    command.indexOf(' ') === -1 ? null : command.split(' ').filter((word) => word !== '');
  const count = (words === null ? 1 : words.length) + args.length;
  // Built inline, with no closure or object per command: this runs for every command sent.
  let text = `*${count}\r\n`;
  let parts: Array<string | Buffer> | null = null;
  const names = words ?? [command];
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
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (typeof arg === 'string') {
      // Byte length equals character length exactly when a string is pure ASCII; other text goes as UTF-8 bytes.
      const bytes = Buffer.byteLength(arg);
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

/** Upper-cased names of the commands seen so far; bounded so arbitrary strings cannot grow it forever. */
const NAMES = new Map<string, string>();

/** The command name as it may appear in messages: its first word, upper-cased, never an argument. */
export function commandName(command: string): string {
  let name = NAMES.get(command);
  if (name === undefined) {
    const space = command.indexOf(' ');
    name = (space === -1 ? command : command.slice(0, space)).toUpperCase();
    if (NAMES.size < 1000) NAMES.set(command, name);
  }
  return name;
}
