import fc from 'fast-check';

/*
 * Valid RESP2/RESP3 streams as tokens (type bytes, declared lengths, line texts, bodies, CRLFs), with the picture
 * `describeReply` gives of each reply, push and attribute they decode to. Tokens let the fuzz mutate a stream at
 * any depth: a type byte three levels down, one length, one CRLF, instead of random bytes that fail at byte 0.
 */

/** One piece of a stream, tagged so a mutation can find the pieces of its kind. */
export type Token =
  | { kind: 'type'; byte: number }
  | { kind: 'length'; text: string }
  | { kind: 'text'; bytes: Buffer }
  | { kind: 'body'; bytes: Buffer }
  | { kind: 'crlf' }
  /** Bytes a mutation put in; no longer grammar, so never mutated again. */
  | { kind: 'raw'; bytes: Buffer };

/** A valid stream and what it decodes to (text mode, default limits). */
export interface Frames {
  tokens: Token[];
  replies: unknown[];
  pushes: unknown[];
  attributes: unknown[];
}

/** One value: its tokens, its picture, and the attributes inside it in wire order. */
interface Node {
  tokens: Token[];
  expected: unknown;
  attributes: unknown[];
}

const CRLF: Token = { kind: 'crlf' };
const type = (char: string): Token => ({ kind: 'type', byte: char.charCodeAt(0) });
const line = (char: string, text: string): Token[] => [
  type(char),
  { kind: 'text', bytes: Buffer.from(text) },
  CRLF,
];
const header = (char: string, length: string): Token[] => [
  type(char),
  { kind: 'length', text: length },
  CRLF,
];
const bulk = (char: string, body: string): Token[] => {
  const bytes = Buffer.from(body);
  return [...header(char, String(bytes.length)), { kind: 'body', bytes }, CRLF];
};
const leafNode = (tokens: Token[], expected: unknown): Node => ({
  tokens,
  expected,
  attributes: [],
});

/** The bytes of a token list. */
export function serialize(tokens: readonly Token[]): Buffer {
  return Buffer.concat(
    tokens.map((token) => {
      switch (token.kind) {
        case 'type':
          return Buffer.from([token.byte]);
        case 'length':
          return Buffer.from(token.text, 'latin1');
        case 'crlf':
          return Buffer.from('\r\n');
        default:
          return token.bytes;
      }
    }),
  );
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const simpleText = fc.string({ unit: 'grapheme', maxLength: 12 }).filter((s) => !/[\r\n]/.test(s));
const bodyText = fc.oneof(
  fc.string({ unit: 'grapheme', maxLength: 24 }),
  fc.constantFrom('', '\r\n', 'a\r\nb', '$3\r\nfoo', '*1\r\n:1'),
);
const code = fc.constantFrom('ERR', 'WRONGTYPE', 'MOVED', 'NOSCRIPT');
const mapKey = simpleText.map((s) => `k${s}`);

function doubleWire(d: number): string {
  if (Number.isNaN(d)) return 'nan';
  if (d === Infinity) return 'inf';
  if (d === -Infinity) return '-inf';
  return String(d);
}

const leaf: fc.Arbitrary<Node> = fc.oneof(
  simpleText.map((s) => leafNode(line('+', s), s)),
  bodyText.map((s) => leafNode(bulk('$', s), s)),
  fc
    .bigInt({ min: INT64_MIN, max: INT64_MAX })
    .map((n) => leafNode(line(':', String(n)), n <= SAFE && n >= -SAFE ? Number(n) : n)),
  fc.integer({ min: -1000, max: 1000 }).map((n) => leafNode(line(':', String(n)), n)),
  fc
    .constantFrom<[string, string]>(['_', ''], ['$', '-1'], ['*', '-1'])
    .map(([char, text]) => leafNode(char === '_' ? line(char, text) : header(char, text), null)),
  fc.boolean().map((b) => leafNode(line('#', b ? 't' : 'f'), b)),
  fc.double().map((d) => leafNode(line(',', doubleWire(d)), d === 0 ? 0 : d)),
  fc.bigInt().map((n) => leafNode(line('(', String(n)), n)),
  fc
    .tuple(code, simpleText)
    .map(([c, m]) => leafNode(line('-', `${c} ${m}`), { error: `${c} ${m}`, code: c })),
  fc
    .tuple(code, bodyText)
    .map(([c, m]) => leafNode(bulk('!', `${c} ${m}`), { error: `${c} ${m}`, code: c })),
  bodyText.map((s) => leafNode(bulk('=', `txt:${s}`), s)),
  fc
    .array(
      bodyText.filter((s) => s.length > 0),
      { maxLength: 4 },
    )
    .map((parts) =>
      leafNode(
        [...header('$', '?'), ...parts.flatMap((p) => bulk(';', p)), ...header(';', '0')],
        parts.join(''),
      ),
    ),
);

/** Combines child nodes into an aggregate's tokens, picture and attributes. */
function aggregate(char: string, items: Node[], streamed: boolean): Node {
  return {
    tokens: [
      ...header(char, streamed ? '?' : String(items.length)),
      ...items.flatMap((i) => i.tokens),
      ...(streamed ? line('.', '') : []),
    ],
    expected: items.map((i) => i.expected),
    attributes: items.flatMap((i) => i.attributes),
  };
}

function mapNode(entries: Array<[string, Node, boolean]>, streamed: boolean): Node {
  return {
    tokens: [
      ...header('%', streamed ? '?' : String(entries.length)),
      ...entries.flatMap(([k, v, simple]) => [
        ...(simple ? line('+', k) : bulk('$', k)),
        ...v.tokens,
      ]),
      ...(streamed ? line('.', '') : []),
    ],
    expected: { map: entries.map(([k, v]) => [k, v.expected]) },
    attributes: entries.flatMap(([, v]) => v.attributes),
  };
}

/** An attribute (`|n`) of leaves before a value; it must not change what the value decodes to. */
function withAttribute(entries: Array<[string, Node]>, inner: Node): Node {
  return {
    tokens: [
      ...header('|', String(entries.length)),
      ...entries.flatMap(([k, v]) => [...line('+', k), ...v.tokens]),
      ...inner.tokens,
    ],
    expected: inner.expected,
    attributes: [{ map: entries.map(([k, v]) => [k, v.expected]) }, ...inner.attributes],
  };
}

const node: fc.Arbitrary<Node> = fc.letrec<{ node: Node }>((tie) => {
  const items = fc.array(tie('node'), { maxLength: 4 });
  const entries = fc.uniqueArray(fc.tuple(mapKey, tie('node'), fc.boolean()), {
    maxLength: 3,
    selector: ([k]) => k,
  });
  return {
    node: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      leaf,
      fc
        .tuple(fc.constantFrom('*', '~'), items, fc.boolean())
        .map(([c, i, s]) => aggregate(c, i, s)),
      fc.tuple(entries, fc.boolean()).map(([e, s]) => mapNode(e, s)),
      fc
        .tuple(
          fc.uniqueArray(fc.tuple(mapKey, leaf), {
            minLength: 1,
            maxLength: 2,
            selector: ([k]) => k,
          }),
          tie('node'),
        )
        .map(([e, inner]) => withAttribute(e, inner)),
    ),
  };
}).node;

/** A top-level push frame (pub/sub message style): never a reply. */
const push = fc
  .array(leaf, { minLength: 1, maxLength: 3 })
  .map((items) => aggregate('>', items, false));

/** A few replies and pushes in one stream. */
export const frames: fc.Arbitrary<Frames> = fc
  .array(
    fc.oneof(
      { weight: 5, arbitrary: node.map((n) => ({ n, isPush: false })) },
      { weight: 1, arbitrary: push.map((n) => ({ n, isPush: true })) },
    ),
    { minLength: 1, maxLength: 4 },
  )
  .map((parts) => {
    const out: Frames = { tokens: [], replies: [], pushes: [], attributes: [] };
    for (const { n, isPush } of parts) {
      out.tokens.push(...n.tokens);
      (isPush ? out.pushes : out.replies).push(n.expected);
      out.attributes.push(...n.attributes);
    }
    return out;
  });
