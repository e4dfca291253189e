import type { RedisArgument } from './resp.types';

/** A command name split into the words Redis will receive, read once and cached. */
export interface CommandWords {
  /** The first word, upper-cased: what policy, flags and lease tracking look at. */
  readonly name: string;
  /** Every word as given, the name first (sent as written; Redis ignores case). */
  readonly all: readonly string[];
  /** Further words of a spaced name (`'CLIENT REPLY'` → `['REPLY']`), sent as the leading arguments. */
  readonly rest: readonly string[];
  /**
   * Every word already encoded as RESP bulk strings (`$3\r\nGET\r\n`), so a command's encoding starts from a
   * cached string; `null` when a word is not pure ASCII (it then travels as UTF-8 bytes).
   */
  readonly encoded: string | null;
}

/** Cache of normalised names; bounded so that arbitrary strings cannot grow it forever. */
const WORDS = new Map<string, CommandWords>();
const WORDS_LIMIT = 1000;
const NO_WORDS: readonly string[] = [];

/**
 * Normalises a command name once: trims it, splits a spaced name (`'CLIENT REPLY'`, `' SELECT'`) into its words
 * and upper-cases the first. Everything downstream (refusals, flags, lease tracking, encoding) reads the result,
 * so they all apply to exactly what is sent.
 *
 * @throws TypeError when the name is not a string or has no word at all (`''`, `'   '`): such a command would
 *   be encoded as an empty array, which Redis never answers, shifting every later reply.
 */
export function commandWords(command: string): CommandWords {
  const cached = WORDS.get(command);
  if (cached !== undefined) return cached;
  if (typeof command !== 'string') throw new TypeError('Command name must be a non-empty string');
  const parts = command.split(/\s+/).filter((word) => word !== '');
  if (parts.length === 0) {
    throw new TypeError('Command name must contain a word (it was empty or only whitespace)');
  }
  const words: CommandWords = {
    name: parts[0].toUpperCase(),
    all: parts,
    rest: parts.length === 1 ? NO_WORDS : parts.slice(1),
    encoded: encodedWords(parts),
  };
  if (WORDS.size < WORDS_LIMIT) WORDS.set(command, words);
  return words;
}

/** The words as RESP bulk strings, or `null` when one is not pure ASCII (byte length ≠ character length). */
function encodedWords(words: readonly string[]): string | null {
  let text = '';
  for (const word of words) {
    const bytes = Buffer.byteLength(word);
    if (bytes !== word.length) return null;
    text += `$${bytes}\r\n${word}\r\n`;
  }
  return text;
}

/** The arguments as sent: a spaced name's further words first, then the caller's. */
export function sentArgs(
  words: CommandWords,
  args: readonly RedisArgument[],
): readonly RedisArgument[] {
  return words.rest.length === 0 ? args : [...words.rest, ...args];
}

/** The command's name for messages (its first word, upper-cased, never an argument); never throws. */
export function commandName(command: string): string {
  try {
    return commandWords(command).name;
  } catch {
    return '(invalid command name)';
  }
}
