import fc from 'fast-check';
import { serialize, type Token } from './frame-arbitrary';

/*
 * Targeted mutations of a valid token stream: each picks one token of its kind (anywhere, nested or not) and
 * breaks it the way a broken or hostile server would, so the decoder gets past the first byte and fails (or not)
 * deep inside a reply.
 */

/** What a mutation breaks. */
export type MutationKind =
  | 'type'
  | 'length'
  | 'crlf'
  | 'body'
  | 'text'
  | 'insert'
  | 'nest'
  | 'mapKey'
  | 'drop'
  | 'duplicate'
  | 'truncate';

/** One mutation: which kind, which token of that kind (`at`, modulo their count), and which variant. */
export interface Mutation {
  kind: MutationKind;
  at: number;
  variant: number;
}

const TYPE_BYTES = Buffer.from('+-:$*_#,(!=%~>|;.');
const UNKNOWN_BYTES = Array.from({ length: 256 }, (_, b) => b).filter(
  (b) => !TYPE_BYTES.includes(b),
);

/** Replacements for a declared length: off by one, nil, streamed, garbage, and huge. */
const LENGTHS = [
  '+1',
  '-1',
  '-2',
  '?',
  '',
  'x',
  '1x',
  ' 1',
  '0',
  '65537',
  '4194303',
  '4194305',
  '536870912',
  '536870913',
  '4294967295',
  '9999999999',
  '999999999999999',
  '9999999999999999',
];

const CRLFS = ['\n', '\r', '', '\r\r\n', '\n\r', '\r\n\r\n', 'x\n'];

const FRAGMENTS = [
  '.\r\n',
  ';3\r\nabc\r\n',
  ';0\r\n',
  '|1\r\n+a\r\n',
  '$?\r\n',
  '*?\r\n',
  '%1\r\n',
  '>1\r\n',
  '\r\n',
  ':1\r\n',
  '$5\r\nab',
  '\0',
  '\xff',
];

/** Any mutation; `at` and `variant` are reduced modulo what they choose from. */
export const mutation: fc.Arbitrary<Mutation> = fc.record({
  kind: fc.constantFrom<MutationKind>(
    'type',
    'length',
    'crlf',
    'body',
    'text',
    'insert',
    'nest',
    'mapKey',
    'drop',
    'duplicate',
    'truncate',
  ),
  at: fc.nat(),
  variant: fc.nat(),
});

const raw = (bytes: string | Buffer): Token => ({
  kind: 'raw',
  bytes: Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes, 'latin1'),
});

/** Indexes of the tokens a mutation of this kind may touch. */
function candidates(tokens: readonly Token[], kind: Token['kind'] | 'any'): number[] {
  const found: number[] = [];
  tokens.forEach((token, i) => {
    if (kind === 'any' || token.kind === kind) found.push(i);
  });
  return found;
}

function replaced(tokens: readonly Token[], index: number, ...replacement: Token[]): Token[] {
  return [...tokens.slice(0, index), ...replacement, ...tokens.slice(index + 1)];
}

function lengthVariant(text: string, variant: number): string {
  const n = Number(text);
  const choice = LENGTHS[variant % LENGTHS.length];
  if (choice === '+1' && Number.isInteger(n)) return String(n + 1);
  if (choice === '-1' && Number.isInteger(n) && variant % 2 === 0) return String(n - 1);
  return choice;
}

function bodyVariant(bytes: Buffer, variant: number): Buffer {
  switch (variant % 5) {
    case 0:
      return bytes.subarray(0, Math.max(0, bytes.length - 1));
    case 1:
      return Buffer.concat([bytes, Buffer.from('z')]);
    case 2:
      return Buffer.concat([bytes.subarray(0, bytes.length >> 1), Buffer.from('\r\n')]);
    case 3:
      return Buffer.alloc(0);
    default:
      return Buffer.concat([bytes, bytes]);
  }
}

function textVariant(bytes: Buffer, variant: number): Buffer {
  const half = bytes.length >> 1;
  switch (variant % 8) {
    case 0:
      return Buffer.concat([bytes.subarray(0, half), Buffer.from('\r'), bytes.subarray(half)]);
    case 1:
      return Buffer.concat([bytes.subarray(0, half), Buffer.from('\n'), bytes.subarray(half)]);
    case 2:
      return Buffer.concat([bytes, Buffer.from('x')]);
    case 3:
      return Buffer.alloc(0);
    case 4:
      return Buffer.from('1.5.5');
    case 5:
    case 6:
      // Around the small limits' maxLineLength (60), ended by a bare LF: which error comes first?
      return Buffer.from(`${'7'.repeat(60 + (variant % 4))}\n`);
    default:
      return Buffer.alloc(100, 'a');
  }
}

/** Applies one token-level mutation (a `truncate` is applied to the bytes, by `mutatedStream`). */
function apply(tokens: Token[], m: Mutation): Token[] {
  const pick = (kind: Token['kind'] | 'any'): number | undefined => {
    const found = candidates(tokens, kind);
    return found.length === 0 ? undefined : found[m.at % found.length];
  };
  switch (m.kind) {
    case 'type': {
      const i = pick('type');
      if (i === undefined) return tokens;
      const byte =
        m.variant % 3 === 0
          ? TYPE_BYTES[m.variant % TYPE_BYTES.length]
          : UNKNOWN_BYTES[m.variant % UNKNOWN_BYTES.length];
      return replaced(tokens, i, raw(Buffer.from([byte])));
    }
    case 'length': {
      const i = pick('length');
      if (i === undefined) return tokens;
      return replaced(
        tokens,
        i,
        raw(lengthVariant((tokens[i] as { text: string }).text, m.variant)),
      );
    }
    case 'crlf': {
      const i = pick('crlf');
      return i === undefined ? tokens : replaced(tokens, i, raw(CRLFS[m.variant % CRLFS.length]));
    }
    case 'body': {
      const i = pick('body');
      if (i === undefined) return tokens;
      return replaced(
        tokens,
        i,
        raw(bodyVariant((tokens[i] as { bytes: Buffer }).bytes, m.variant)),
      );
    }
    case 'text': {
      const i = pick('text');
      if (i === undefined) return tokens;
      return replaced(
        tokens,
        i,
        raw(textVariant((tokens[i] as { bytes: Buffer }).bytes, m.variant)),
      );
    }
    case 'insert': {
      const i = m.at % (tokens.length + 1);
      const fragment = FRAGMENTS[m.variant % FRAGMENTS.length];
      return [...tokens.slice(0, i), raw(fragment), ...tokens.slice(i)];
    }
    case 'nest': {
      // Wraps the value starting at a type byte in levels of one-element (or streamed, unended) arrays.
      const i = pick('type');
      if (i === undefined) return tokens;
      const deep = m.variant % 9 === 0;
      const levels = deep ? 1000 + (m.variant % 1500) : 1 + (m.variant % 12);
      const level = m.variant % 4 === 1 ? '*?\r\n' : m.variant % 4 === 2 ? '~1\r\n' : '*1\r\n';
      return [...tokens.slice(0, i), raw(level.repeat(levels)), ...tokens.slice(i)];
    }
    case 'mapKey': {
      // An aggregate as a map's first key: RESP3 allows it, a map keyed by text cannot hold it.
      const maps = candidates(tokens, 'type').filter(
        (i) => (tokens[i] as { byte: number }).byte === 37,
      );
      if (maps.length === 0) return tokens;
      const i = maps[m.at % maps.length] + 3;
      const key = m.variant % 2 === 0 ? '*1\r\n:1\r\n' : '%0\r\n';
      return [...tokens.slice(0, i), raw(key), ...tokens.slice(i)];
    }
    case 'drop': {
      const i = pick('any');
      return i === undefined ? tokens : replaced(tokens, i);
    }
    case 'duplicate': {
      const i = pick('any');
      return i === undefined ? tokens : replaced(tokens, i, tokens[i], tokens[i]);
    }
    case 'truncate':
      return tokens;
  }
}

/** The stream's bytes after the mutations, in order; truncations cut the bytes last. */
export function mutatedStream(tokens: Token[], mutations: readonly Mutation[]): Buffer {
  let mutated = tokens;
  for (const m of mutations) mutated = apply(mutated, m);
  let bytes = serialize(mutated);
  for (const m of mutations) {
    if (m.kind === 'truncate') bytes = bytes.subarray(0, m.at % (bytes.length + 1));
  }
  return bytes;
}
