import fc from 'fast-check';

/** A reply as the server would send it, and the picture `describeReply` should give of its decoding. */
export interface WireReply {
  wire: string;
  expected: unknown;
}

const bytes = (s: string) => Buffer.byteLength(s);
const line = fc.string({ unit: 'grapheme', maxLength: 20 }).filter((s) => !/[\r\n]/.test(s));
const text = fc.string({ unit: 'grapheme', maxLength: 40 });
const code = fc.constantFrom('ERR', 'WRONGTYPE', 'NOSCRIPT', 'MOVED', 'BUSY');
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const SAFE = BigInt(Number.MAX_SAFE_INTEGER);

function doubleWire(d: number): string {
  if (Number.isNaN(d)) return 'nan';
  if (d === Infinity) return 'inf';
  if (d === -Infinity) return '-inf';
  return String(d);
}

const leaf: fc.Arbitrary<WireReply> = fc.oneof(
  line.map((s) => ({ wire: `+${s}\r\n`, expected: s })),
  text.map((s) => ({ wire: `$${bytes(s)}\r\n${s}\r\n`, expected: s })),
  fc
    .bigInt({ min: INT64_MIN, max: INT64_MAX })
    .map((n) => ({ wire: `:${n}\r\n`, expected: n <= SAFE && n >= -SAFE ? Number(n) : n })),
  fc.integer().map((n) => ({ wire: `:${n}\r\n`, expected: n })),
  fc.constantFrom('_\r\n', '$-1\r\n', '*-1\r\n').map((wire) => ({ wire, expected: null })),
  fc.boolean().map((b) => ({ wire: b ? '#t\r\n' : '#f\r\n', expected: b })),
  fc.double().map((d) => ({ wire: `,${doubleWire(d)}\r\n`, expected: d === 0 ? 0 : d })),
  fc.bigInt().map((n) => ({ wire: `(${n}\r\n`, expected: n })),
  fc.tuple(code, line).map(([c, m]) => ({
    wire: `-${c} ${m}\r\n`,
    expected: { error: `${c} ${m}`, code: c },
  })),
  fc.tuple(code, text).map(([c, m]) => ({
    wire: `!${bytes(`${c} ${m}`)}\r\n${c} ${m}\r\n`,
    expected: { error: `${c} ${m}`, code: c },
  })),
  text.map((s) => ({ wire: `=${bytes(s) + 4}\r\ntxt:${s}\r\n`, expected: s })),
  fc.array(text, { maxLength: 4 }).map((parts) => ({
    wire: `$?\r\n${parts
      .filter((p) => p.length > 0)
      .map((p) => `;${bytes(p)}\r\n${p}\r\n`)
      .join('')};0\r\n`,
    expected: parts.join(''),
  })),
);

/** Random reply trees of every RESP3 type, nested a few levels. */
export const wireReply: fc.Arbitrary<WireReply> = fc.letrec<{ node: WireReply }>((tie) => ({
  node: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    leaf,
    fc.array(tie('node'), { maxLength: 5 }).map((items) => ({
      wire: `*${items.length}\r\n${items.map((i) => i.wire).join('')}`,
      expected: items.map((i) => i.expected),
    })),
    fc.array(tie('node'), { maxLength: 5 }).map((items) => ({
      wire: `~${items.length}\r\n${items.map((i) => i.wire).join('')}`,
      expected: items.map((i) => i.expected),
    })),
    fc.array(tie('node'), { maxLength: 5 }).map((items) => ({
      wire: `*?\r\n${items.map((i) => i.wire).join('')}.\r\n`,
      expected: items.map((i) => i.expected),
    })),
    fc
      .uniqueArray(fc.tuple(line, tie('node')), { maxLength: 4, selector: ([k]) => k })
      .map((entries) => ({
        wire: `%${entries.length}\r\n${entries.map(([k, v]) => `$${bytes(k)}\r\n${k}\r\n${v.wire}`).join('')}`,
        expected: { map: entries.map(([k, v]) => [k, v.expected]) },
      })),
    tie('node').map((inner) => ({
      // An attribute before a value must not change what the value decodes to.
      wire: `|1\r\n+meta\r\n:1\r\n${inner.wire}`,
      expected: inner.expected,
    })),
  ),
})).node;
