import { createCipheriv } from 'node:crypto';
import { ConnectionError, ProtocolError, ResponseError } from '../../lib/errors/redis-pool.errors';
import { ConnectionPool } from '../../lib/pool/connection-pool';
import type { PoolOptions } from '../../lib/pool/pool-options';
import { RespDecoder } from '../../lib/protocol/resp-decoder';
import {
  respEncode,
  startFakeRespServer,
  useRedisServer,
  type FakeConnection,
  type FakeRespServer,
  type RedisServerHandle,
} from '../harness';
import { settleAll, sleep, watchUnhandledRejections } from './pool-checks';

/**
 * Plain TCP and Unix sockets feed the decoder through `onread`: reads go into a reused 64 KiB slab, or straight
 * into the decoder's own buffer for the rest of a bulk with >= 64 KiB due. TLS sockets still use 'data'. These
 * tests check the bytes that come out whatever the read boundaries: partial lines held across reads (the slab
 * must never be read over while held, and is replaced when it fills), bulks around the thresholds, and failures
 * in the middle of a direct read.
 *
 * Random content comes from a seeded generator and every failure message names the seed; set SOCKET_READS_SEED
 * to replay a run.
 */
const SEED = Number(process.env.SOCKET_READS_SEED ?? Math.floor(Math.random() * 2 ** 31));

const KIB = 1024;
const MIB = 1024 * KIB;
/** The slab size and the direct-read threshold of lib/connection/socket-reader.ts. */
const SLAB = 64 * KIB;

/** mulberry32: small, fast, deterministic. */
function rngFrom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomInt(rng: () => number, min: number, max: number): number {
  return min + Math.floor(rng() * (max - min + 1));
}

/** Random bytes of every value, CR and LF included: AES-CTR keyed from `rng`, so fast and still seeded. */
function randomBytes(rng: () => number, size: number): Buffer {
  const keyAndIv = Buffer.alloc(32);
  for (let i = 0; i < 32; i++) keyAndIv[i] = Math.floor(rng() * 256);
  const cipher = createCipheriv('aes-128-ctr', keyAndIv.subarray(0, 16), keyAndIv.subarray(16));
  return Buffer.concat([cipher.update(Buffer.alloc(size)), cipher.final()]);
}

/** Printable ASCII (0x20..0x7e), never CR or LF, so it fits in a simple-string or error line. */
function randomLine(rng: () => number, size: number): string {
  const bytes = randomBytes(rng, size);
  for (let i = 0; i < size; i++) bytes[i] = 0x20 + (bytes[i] % 95);
  return bytes.toString('latin1');
}

function randomHex(rng: () => number, size: number): string {
  return randomBytes(rng, Math.ceil(size / 2))
    .toString('hex')
    .slice(0, size);
}

function shuffle<T>(rng: () => number, items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [items[i], items[j]] = [items[j], items[i]];
  }
  return items;
}

function show(value: unknown): string {
  if (Buffer.isBuffer(value)) return `a Buffer of ${value.length} bytes`;
  if (typeof value === 'string') return `a string of ${value.length} chars`;
  if (value instanceof Error) return `${value.name}: ${value.message.slice(0, 120)}`;
  return String(value);
}

/** '' when equal; otherwise where the bytes differ (a plain `toEqual` on megabytes is unreadable). */
function byteDiff(actual: unknown, expected: Buffer): string {
  if (!Buffer.isBuffer(actual)) return `expected ${show(expected)}, got ${show(actual)}`;
  if (actual.equals(expected)) return '';
  const n = Math.min(actual.length, expected.length);
  let i = 0;
  while (i < n && actual[i] === expected[i]) i++;
  return `got ${actual.length} bytes (expected ${expected.length}), first difference at byte ${i}`;
}

function textDiff(actual: unknown, expected: string): string {
  if (typeof actual !== 'string') return `expected ${show(expected)}, got ${show(actual)}`;
  if (actual === expected) return '';
  const n = Math.min(actual.length, expected.length);
  let i = 0;
  while (i < n && actual[i] === expected[i]) i++;
  return `got ${actual.length} chars (expected ${expected.length}), first difference at char ${i}: ${JSON.stringify(actual.slice(i, i + 24))}`;
}

function valueDiff(actual: unknown, expected: string | Buffer | null): string {
  if (expected === null) return actual === null ? '' : `expected null, got ${show(actual)}`;
  return Buffer.isBuffer(expected) ? byteDiff(actual, expected) : textDiff(actual, expected);
}

/** Counts reads that went straight into a decoder's bulk buffer; the spy calls through unchanged. */
function countDirectReads(): { count(): number; restore(): void } {
  const spy = jest.spyOn(RespDecoder.prototype, 'filledDirectly');
  return { count: () => spy.mock.calls.length, restore: () => spy.mockRestore() };
}

/** Runs `fn` while counting direct reads. */
async function withDirectReads<T>(fn: () => Promise<T>): Promise<{ result: T; direct: number }> {
  const direct = countDirectReads();
  try {
    const result = await fn();
    return { result, direct: direct.count() };
  } finally {
    direct.restore();
  }
}

// ---------------------------------------------------------------------------------------------------------------
// A real redis-server over TCP, a Unix socket and TLS
// ---------------------------------------------------------------------------------------------------------------

type Transport = 'tcp' | 'unix' | 'tls';

function transportOptions(transport: Transport, server: RedisServerHandle): PoolOptions {
  switch (transport) {
    case 'tcp':
      return { host: server.host, port: server.port };
    case 'unix':
      return { path: server.socketPath };
    case 'tls': {
      if (server.certs === undefined) throw new Error('the TLS server has no certificates');
      return { host: server.host, port: server.tlsPort, tls: { ca: server.certs.ca } };
    }
  }
}

/** Around the 16 KiB minimum read, the 64 KiB slab and direct-read threshold, and well past them. */
const SIZES = [
  0,
  1,
  16383,
  16384,
  16385,
  65533,
  65534,
  65535,
  65536,
  65537,
  65538,
  131079,
  MIB + 1,
  5 * MIB,
];

describe('socket reads from a real redis-server', () => {
  const server = useRedisServer({ unixSocket: true, tls: true });
  watchUnhandledRejections();

  describe.each<[Transport, number]>([
    ['tcp', 1],
    ['unix', 2],
    ['tls', 3],
  ])('over %s', (transport, salt) => {
    let pool: ConnectionPool;
    beforeAll(() => {
      pool = new ConnectionPool({
        ...transportOptions(transport, server()),
        maxConnections: 4,
        commandTimeoutMs: 20_000,
      });
    });
    afterAll(async () => {
      await pool.disconnect();
      expect(pool.stats().total).toBe(0);
    });

    /**
     * Two callers per size, each SET then GET of its own key, started together with 200 ECHOs of distinct text
     * spread over the same time, so replies of every size are pipelined and interleaved on shared connections.
     */
    async function roundTrip(
      mode: 'buffers' | 'text',
      seed: number,
    ): Promise<{ failures: string[]; direct: number }> {
      const rng = rngFrom(seed);
      const failures: string[] = [];
      const jobs: Array<() => Promise<void>> = [];
      SIZES.forEach((size, i) => {
        for (let copy = 0; copy < 2; copy++) {
          const key = `sr:${transport}:${mode}:${i}:${copy}`;
          const value = mode === 'buffers' ? randomBytes(rng, size) : randomHex(rng, size);
          jobs.push(async () => {
            const stored = await pool.executeCommand('SET', key, value);
            if (stored !== 'OK') failures.push(`SET ${key}: ${show(stored)}`);
            const back =
              mode === 'buffers'
                ? await pool.execute('GET', [key], { buffers: true })
                : await pool.executeCommand('GET', key);
            const diff = valueDiff(back, value);
            if (diff !== '') failures.push(`GET ${key} (${size} bytes): ${diff}`);
          });
        }
      });
      for (let i = 0; i < 200; i++) {
        const text = `echo ${transport} ${mode} #${i} ${randomLine(rng, randomInt(rng, 0, 300))}`;
        const buffers = i % 2 === 1;
        const delay = randomInt(rng, 0, 40);
        jobs.push(async () => {
          await sleep(delay);
          const back = buffers
            ? await pool.execute('ECHO', [text], { buffers: true })
            : await pool.executeCommand('ECHO', text);
          const diff = valueDiff(back, buffers ? Buffer.from(text, 'latin1') : text);
          if (diff !== '') failures.push(`ECHO #${i}: ${diff}`);
        });
      }
      shuffle(rng, jobs);
      const { direct } = await withDirectReads(() => Promise.all(jobs.map((job) => job())));
      return { failures, direct };
    }

    it('buffer mode: random bytes of every size come back exact, each to its own caller, amid ECHOs', async () => {
      const seed = SEED + salt * 1000 + 1;
      const { failures, direct } = await roundTrip('buffers', seed);
      expect({ seed, failures }).toEqual({ seed, failures: [] });
      // TCP and Unix sockets read the rest of the large values straight into the decoder's buffer; TLS never.
      if (transport === 'tls') expect(direct).toBe(0);
      else expect(direct).toBeGreaterThan(0);
    });

    it('text mode: hex text of every size comes back exact, each to its own caller, amid ECHOs', async () => {
      const seed = SEED + salt * 1000 + 2;
      const { failures } = await roundTrip('text', seed);
      expect({ seed, failures }).toEqual({ seed, failures: [] });
    });

    it('MGET of several big keys returns an array of exact bulks, each > 64 KiB, to concurrent callers', async () => {
      const seed = SEED + salt * 1000 + 3;
      const rng = rngFrom(seed);
      const sizes = [SLAB + 1, 70_000, 131_079, 300_000, MIB + 1];
      const keys = sizes.map((_, i) => `sr:${transport}:mget:${i}`);
      const values = sizes.map((size) => randomBytes(rng, size));
      const texts = sizes.map((size) => randomHex(rng, size));
      const textKeys = keys.map((key) => `${key}:text`);
      await pool.executeCommand('MSET', ...keys.flatMap((key, i) => [key, values[i]]));
      await pool.executeCommand('MSET', ...textKeys.flatMap((key, i) => [key, texts[i]]));

      const failures: string[] = [];
      const calls: Array<Promise<void>> = [];
      for (let round = 0; round < 4; round++) {
        // Reversed every other time, with a missing key in the middle, so no two callers expect the same array.
        const order = round % 2 === 0 ? [0, 1, 2, 3, 4] : [4, 3, 2, 1, 0];
        const asked: Array<[string, Buffer | null]> = order.map((i) => [keys[i], values[i]]);
        asked.splice(2, 0, [`sr:${transport}:mget:missing:${round}`, null]);
        calls.push(
          pool
            .execute<unknown>(
              'MGET',
              asked.map(([key]) => key),
              { buffers: true },
            )
            .then((reply) => {
              asked.forEach(([key, value], j) => {
                const diff = Array.isArray(reply) ? valueDiff(reply[j], value) : show(reply);
                if (diff !== '') failures.push(`MGET round ${round} item ${j} (${key}): ${diff}`);
              });
            }),
          pool.execute<unknown>('MGET', textKeys).then((reply) => {
            texts.forEach((text, j) => {
              const diff = Array.isArray(reply) ? valueDiff(reply[j], text) : show(reply);
              if (diff !== '') failures.push(`text MGET round ${round} item ${j}: ${diff}`);
            });
          }),
          pool.executeCommand('ECHO', `between ${round}`).then((reply) => {
            if (reply !== `between ${round}`) failures.push(`ECHO round ${round}: ${show(reply)}`);
          }),
        );
      }
      await Promise.all(calls);
      expect({ seed, failures }).toEqual({ seed, failures: [] });
    });
  });
});

// ---------------------------------------------------------------------------------------------------------------
// A fake server that controls every read boundary
// ---------------------------------------------------------------------------------------------------------------

/** What the fake does for one command: write (part of) a reply, perhaps slowly, perhaps die. */
type Script = (conn: FakeConnection) => Promise<void>;

/** Resolves once the bytes are handed to the kernel, so a following `destroy()` cannot drop them. */
function writeFlushed(conn: FakeConnection, bytes: Buffer | string): Promise<void> {
  return new Promise((resolve) => {
    if (conn.socket.destroyed || !conn.socket.writable) {
      resolve();
      return;
    }
    conn.socket.write(bytes, () => resolve());
  });
}

/**
 * Writes `bytes` in random pieces of 1..700 bytes with a pause after each. A 0..2 ms timer is what makes a piece
 * land in a read of its own (pieces written one event-loop turn apart mostly coalesce on loopback), so a fifth of
 * the pauses are timers and the rest setImmediate: thousands of reads per run, each a few pieces at most, at a
 * fraction of the run time of a timer after every piece.
 */
async function dribble(conn: FakeConnection, bytes: Buffer, rng: () => number): Promise<void> {
  for (let at = 0; at < bytes.length && !conn.socket.destroyed;) {
    const n = randomInt(rng, 1, 700);
    conn.write(bytes.subarray(at, at + n));
    at += n;
    if (rng() < 0.2) await sleep(randomInt(rng, 0, 2));
    else await new Promise((resolve) => setImmediate(resolve));
  }
}

type Expected = { value: string | Buffer } | { error: string };

interface DribbleCase {
  token: string;
  kind: string;
  wire: Buffer;
  buffers: boolean;
  expected: Expected;
}

function simpleCase(token: string, kind: string, text: string, buffers: boolean): DribbleCase {
  return {
    token,
    kind,
    wire: Buffer.from(respEncode.simple(text), 'latin1'),
    buffers,
    expected: { value: buffers ? Buffer.from(text, 'latin1') : text },
  };
}

function bulkCase(token: string, kind: string, body: Buffer, buffers: boolean): DribbleCase {
  return {
    token,
    kind,
    wire: Buffer.concat([Buffer.from(`$${body.length}\r\n`), body, Buffer.from('\r\n')]),
    buffers,
    expected: { value: buffers ? body : body.toString('latin1') },
  };
}

/** 50 replies: short and ~100 KB simple strings, long errors, bulks of 70..300 KB and around 64 KiB. */
function dribbleCases(rng: () => number): DribbleCase[] {
  const kinds = shuffle(rng, [
    ...Array<string>(8).fill('short simple'),
    ...Array<string>(8).fill('long simple'),
    ...Array<string>(7).fill('long error'),
    ...Array<string>(15).fill('big bulk'),
    ...Array<string>(6).fill('bulk near 64 KiB'),
    ...Array<string>(6).fill('small bulk'),
  ]);
  return kinds.map((kind, i) => {
    const token = `dribble:${i}`;
    const buffers = rng() < 0.5;
    switch (kind) {
      case 'short simple':
        return simpleCase(
          token,
          kind,
          `${token} ${randomLine(rng, randomInt(rng, 0, 200))}`,
          buffers,
        );
      case 'long simple':
        return simpleCase(
          token,
          kind,
          `${token} ${randomLine(rng, randomInt(rng, 95_000, 105_000))}`,
          buffers,
        );
      case 'long error': {
        const message = `ERR ${token} ${randomLine(rng, randomInt(rng, 1_000, 80_000))}`;
        return {
          token,
          kind,
          wire: Buffer.from(respEncode.error(message), 'latin1'),
          buffers,
          expected: { error: message },
        };
      }
      case 'big bulk': {
        const size = randomInt(rng, 70_000, 300_000);
        // Text-mode bulks carry ASCII, so the string compared is exactly the bytes sent.
        const body = buffers ? randomBytes(rng, size) : Buffer.from(randomHex(rng, size), 'latin1');
        return bulkCase(token, kind, body, buffers);
      }
      case 'bulk near 64 KiB':
        return bulkCase(token, kind, randomBytes(rng, randomInt(rng, SLAB - 8, SLAB + 8)), true);
      default:
        return bulkCase(token, kind, randomBytes(rng, randomInt(rng, 0, 2000)), true);
    }
  });
}

/** Compares a settled call with what its case expects; '' when right. */
function checkCase(c: DribbleCase, result: PromiseSettledResult<unknown>): string {
  const label = `${c.token} (${c.kind}, ${c.wire.length} bytes on the wire, ${c.buffers ? 'buffers' : 'text'})`;
  if ('error' in c.expected) {
    if (result.status === 'fulfilled') return `${label}: resolved with ${show(result.value)}`;
    const error = result.reason as Error;
    if (!(error instanceof ResponseError)) return `${label}: rejected with ${show(error)}`;
    const diff = textDiff(error.message, c.expected.error);
    return diff === '' ? '' : `${label}: error message ${diff}`;
  }
  if (result.status === 'rejected') return `${label}: rejected with ${show(result.reason)}`;
  const diff = valueDiff(result.value, c.expected.value);
  return diff === '' ? '' : `${label}: ${diff}`;
}

describe('socket reads from a fake server that controls every read boundary', () => {
  watchUnhandledRejections();
  const scripts = new Map<string, Script>();
  /** Each connection's replies are written in command order, one whole reply after the other. */
  const chains = new WeakMap<FakeConnection, Promise<void>>();
  let fake: FakeRespServer;
  let pool: ConnectionPool;

  beforeAll(async () => {
    fake = await startFakeRespServer((command, conn) => {
      const [name, arg] = command;
      let script: Script;
      switch (name.toUpperCase()) {
        case 'PING':
          script = async (c) => c.write(respEncode.simple('PONG'));
          break;
        case 'QUIT':
          script = async (c) => c.write(respEncode.simple('OK'));
          break;
        case 'ECHO':
          script = scripts.get(arg) ?? (async (c) => c.write(respEncode.bulk(arg)));
          break;
        default:
          script = async (c) => c.write(respEncode.error(`ERR unknown command '${name}'`));
      }
      const next = (chains.get(conn) ?? Promise.resolve()).then(() => script(conn));
      chains.set(conn, next);
      return next;
    });
    pool = new ConnectionPool({
      host: fake.host,
      port: fake.port,
      maxConnections: 4,
      commandTimeoutMs: 15_000,
    });
  });
  afterAll(async () => {
    await pool.disconnect();
    expect(pool.stats().total).toBe(0);
    await fake.close();
    expect(fake.errors).toEqual([]);
  });
  afterEach(() => scripts.clear());

  it('50 concurrent callers get their own replies, dribbled in 1..700-byte pieces, in order', async () => {
    const seed = SEED + 10;
    const rng = rngFrom(seed);
    const cases = dribbleCases(rng);
    cases.forEach((c, i) => {
      const pieces = rngFrom(seed * 31 + i);
      scripts.set(c.token, (conn) => dribble(conn, c.wire, pieces));
    });
    const { result: settled, direct } = await withDirectReads(() =>
      settleAll(
        cases.map((c) => pool.execute('ECHO', [c.token], { buffers: c.buffers })),
        14_000,
      ),
    );
    const failures = cases.map((c, i) => checkCase(c, settled[i])).filter((f) => f !== '');
    expect({ seed, failures }).toEqual({ seed, failures: [] });
    // The big bulks had their rest read straight into the decoder's buffer, a piece at a time.
    expect(direct).toBeGreaterThan(0);
    await expect(pool.executeCommand('ECHO', 'after the dribble')).resolves.toBe(
      'after the dribble',
    );
  });

  it('a 900 KB simple-string line held across many reads (slab replaced again and again) arrives exact', async () => {
    const seed = SEED + 20;
    const rng = rngFrom(seed);
    const text = `held ${randomLine(rng, 900_000)}`;
    const wire = Buffer.from(respEncode.simple(text), 'latin1');
    const small = `small ${randomLine(rng, 100)}`;
    // Pieces of 5..20 KB: several fill one slab, so it is replaced while the line is still incomplete.
    scripts.set('held', async (conn) => {
      for (let at = 0; at < wire.length;) {
        const n = randomInt(rng, 5_000, 20_000);
        conn.write(wire.subarray(at, at + n));
        at += n;
        await new Promise((resolve) => setImmediate(resolve));
      }
    });
    scripts.set('small', async (conn) => conn.write(respEncode.simple(small)));
    const lease = await pool.getConnection();
    try {
      const [held, after, asBuffer] = await Promise.all([
        lease.executeCommand('ECHO', 'held'),
        lease.executeCommand('ECHO', 'small'),
        lease.executeCommandBuffer('ECHO', 'held'),
      ]);
      expect({ seed, diff: textDiff(held, text) }).toEqual({ seed, diff: '' });
      expect(after).toBe(small);
      expect({ seed, diff: byteDiff(asBuffer, wire.subarray(1, wire.length - 2)) }).toEqual({
        seed,
        diff: '',
      });
    } finally {
      pool.release(lease);
    }
  });

  it.each([SLAB - 3, SLAB - 2, SLAB - 1, SLAB, SLAB + 1, 70_000])(
    'a %i-byte bulk whose header came alone: read directly only when >= 64 KiB are due, then the next reply',
    async (size) => {
      const rng = rngFrom(SEED + size);
      const body = randomBytes(rng, size);
      scripts.set('threshold', async (conn) => {
        conn.write(`$${size}\r\n`);
        // Let the client read the header by itself, so body plus CRLF (size + 2 bytes) is all that is due.
        await sleep(15);
        // The next command's reply is written right behind, in the same turn: a direct read must stop short of it.
        conn.write(Buffer.concat([body, Buffer.from('\r\n')]));
      });
      const lease = await pool.getConnection();
      try {
        const { result, direct } = await withDirectReads(() =>
          Promise.all([
            lease.executeCommandBuffer('ECHO', 'threshold'),
            lease.executeCommand('ECHO', 'right behind'),
          ]),
        );
        expect(byteDiff(result[0], body)).toBe('');
        expect(result[1]).toBe('right behind');
        if (size + 2 >= SLAB) expect(direct).toBeGreaterThan(0);
        else expect(direct).toBe(0);
      } finally {
        pool.release(lease);
      }
    },
  );

  it('a server dying in the middle of a directly-read 1 MiB bulk fails that command with ConnectionError', async () => {
    const rng = rngFrom(SEED + 30);
    const partial = randomBytes(rng, 300_000);
    scripts.set('die', async (conn) => {
      await writeFlushed(
        conn,
        Buffer.concat([Buffer.from(`$${MIB}\r\n`), partial.subarray(0, 1000)]),
      );
      await sleep(5);
      for (let at = 1000; at < partial.length; at += 100_000) {
        await writeFlushed(conn, partial.subarray(at, at + 100_000));
        await sleep(2);
      }
      conn.destroy();
    });
    const other = await pool.getConnection();
    const lease = await pool.getConnection();
    const started = Date.now();
    const { result: error, direct } = await withDirectReads(() =>
      lease.executeCommand('ECHO', 'die').then(
        (value) => value,
        (reason: unknown) => reason,
      ),
    );
    const elapsed = Date.now() - started;
    expect(error).toBeInstanceOf(ConnectionError);
    // Well within the 15 s command timeout: the close is noticed, not waited out.
    expect(elapsed).toBeLessThan(2000);
    expect(direct).toBeGreaterThan(0);
    expect(lease.ready).toBe(false);
    pool.release(lease);
    // The other connection never saw it.
    await expect(other.executeCommand('ECHO', 'other is fine')).resolves.toBe('other is fine');
    pool.release(other);
    await expect(pool.executeCommand('ECHO', 'after the death')).resolves.toBe('after the death');
    const fresh = await pool.getConnection();
    try {
      await expect(fresh.executeCommand('ECHO', 'fresh lease')).resolves.toBe('fresh lease');
    } finally {
      pool.release(fresh);
    }
  });

  it('a directly-read 70 000-byte bulk ended by XY instead of CRLF is a ProtocolError for that connection only', async () => {
    const rng = rngFrom(SEED + 40);
    const body = randomBytes(rng, 70_000);
    const wire = Buffer.concat([Buffer.from('$70000\r\n'), body, Buffer.from('XY')]);
    scripts.set('bad-crlf', async (conn) => {
      // The header and a little of the body first, so the remaining 69 902 bytes are read directly.
      const first = 8 + 100;
      conn.write(wire.subarray(0, first));
      await sleep(5);
      for (let at = first; at < wire.length; at += 20_000) {
        conn.write(wire.subarray(at, at + 20_000));
        await sleep(2);
      }
    });
    const otherBody = randomBytes(rng, 200_000);
    const otherWire = bulkCase('x', 'x', otherBody, true).wire;
    scripts.set('other-big', (conn) => dribble(conn, otherWire, rngFrom(SEED + 41)));

    const lease = await pool.getConnection();
    const other = await pool.getConnection();
    try {
      await expect(lease.executeCommand('ECHO', 'lease ok')).resolves.toBe('lease ok');
      const { result, direct } = await withDirectReads(() =>
        Promise.allSettled([
          lease.executeCommand('ECHO', 'bad-crlf'),
          other.executeCommandBuffer('ECHO', 'other-big'),
        ]),
      );
      const [bad, big] = result;
      expect(bad.status).toBe('rejected');
      const error = (bad as PromiseRejectedResult).reason as Error;
      expect(error).toBeInstanceOf(ProtocolError);
      expect(error.message).toMatch(/CRLF/);
      expect(direct).toBeGreaterThan(0);
      expect(big.status).toBe('fulfilled');
      expect(byteDiff((big as PromiseFulfilledResult<unknown>).value, otherBody)).toBe('');
      await expect(other.executeCommand('ECHO', 'other still fine')).resolves.toBe(
        'other still fine',
      );
    } finally {
      pool.release(lease);
      pool.release(other);
    }
    await expect(pool.executeCommand('ECHO', 'next')).resolves.toBe('next');
  });
});
