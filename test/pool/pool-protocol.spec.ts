import { randomBytes } from 'node:crypto';
import { ConnectionError, ProtocolError, TimeoutError } from '../../lib/errors/redis-pool.errors';
import { ConnectionPool } from '../../lib/pool/connection-pool';
import { respEncode, startFakeRespServer, useRedisServer, type FakeRespServer } from '../harness';
import { expectOwnReply, settleAll, sleep, watchUnhandledRejections } from './pool-checks';

describe('hostile replies from a fake server (RELIABILITY 22, 23)', () => {
  watchUnhandledRejections();
  let fake: FakeRespServer;
  let pool: ConnectionPool;
  /** What the fake answers to GET, by key; everything else is echoed back sanely. */
  const answers = new Map<string, string>();

  beforeAll(async () => {
    fake = await startFakeRespServer((command, conn) => {
      const [name, ...args] = command;
      switch (name.toUpperCase()) {
        case 'PING':
          conn.write(respEncode.simple('PONG'));
          break;
        case 'ECHO':
          conn.write(respEncode.bulk(args[0]));
          break;
        case 'GET': {
          const answer = answers.get(args[0]);
          if (answer === 'hang') return;
          conn.write(answer ?? respEncode.bulk(null));
          break;
        }
        default:
          conn.write(respEncode.error(`ERR unknown command '${name}'`));
      }
    });
  });
  afterAll(async () => {
    await fake.close();
  });
  beforeEach(() => {
    pool = new ConnectionPool({
      host: fake.host,
      port: fake.port,
      commandTimeoutMs: 1000,
      maxConnections: 3,
    });
  });
  afterEach(async () => {
    await pool.disconnect();
    expect(pool.stats().total).toBe(0);
  });

  it.each([
    ['an unknown type byte', '@what\r\n', /unknown type byte 0x40/],
    ['a bad length', '$abc\r\nxyz\r\n', /invalid bulk string length/],
    ['a missing CRLF', '$3\r\nabcXY+OK\r\n', /not ended by CRLF/],
    ['*4294967295', '*4294967295\r\n', /exceeds the limit/],
    ['$9999999999', '$9999999999\r\n', /exceeds the limit/],
    ['50 000-deep nesting', `${'*1\r\n'.repeat(50_000)}:1\r\n`, /nesting deeper than 1024/],
  ])(
    '%s rejects that command with ProtocolError, closes that connection only',
    async (_name, bytes, message) => {
      answers.set('bad', bytes);
      const lease = await pool.getConnection();
      await expect(lease.executeCommand('ECHO', 'lease ok')).resolves.toBe('lease ok');
      const before = fake.acceptedCount;
      const started = Date.now();
      // Commands pipelined behind the bad reply fail with ConnectionError: they were written on a connection
      // that has to close because its stream can no longer be trusted.
      const [bad, ...behind] = await settleAll(
        [
          pool.executeCommand('GET', 'bad'),
          pool.executeCommand('GET', 'x1'),
          pool.executeCommand('GET', 'x2'),
        ],
        2000,
      );
      expect(Date.now() - started).toBeLessThan(500);
      expect(bad.status).toBe('rejected');
      const error = (bad as PromiseRejectedResult).reason as Error;
      expect(error).toBeInstanceOf(ProtocolError);
      expect(error.message).toMatch(message);
      for (const result of behind) {
        // GET is read-only: it may be retried on a fresh connection and get its own (nil) reply.
        if (result.status === 'fulfilled') expect(result.value).toBeNull();
        else expect((result as PromiseRejectedResult).reason).toBeInstanceOf(ConnectionError);
      }
      // The leased connection never saw the garbage and still works.
      await expect(lease.executeCommand('ECHO', 'still fine')).resolves.toBe('still fine');
      pool.release(lease);
      await expect(pool.executeCommand('ECHO', 'next')).resolves.toBe('next');
      expect(fake.acceptedCount).toBeGreaterThan(before);
    },
  );

  it('a server that hangs mid-frame times the command out without desynchronising the next one', async () => {
    answers.set('half', '$10\r\nhalf');
    const half = pool.executeCommand('GET', 'half');
    await expect(half).rejects.toThrow(TimeoutError);
    await expect(pool.executeCommand('ECHO', 'mine')).resolves.toBe('mine');
  });

  it('a reply nobody asked for is a ProtocolError for that connection, not a reply to the next caller', async () => {
    answers.set('double', `${respEncode.bulk('one')}${respEncode.bulk('two')}`);
    const connects: number[] = [];
    const closes: Array<{ id: number; cause: unknown }> = [];
    pool.on('connect', (id: number) => connects.push(id));
    pool.on('close', (id: number, cause: unknown) => closes.push({ id, cause }));
    // Another connection, leased: it must not notice anything.
    const lease = await pool.getConnection();
    await expect(lease.executeCommand('ECHO', 'lease ok')).resolves.toBe('lease ok');
    const acceptedBefore = fake.acceptedCount;
    await expect(pool.executeCommand('GET', 'double')).resolves.toBe('one');
    // The GET opened the one shared connection; the extra reply closes exactly it.
    expect(fake.acceptedCount).toBe(acceptedBefore + 1);
    const culprit = connects.find((id) => id !== lease.id);
    expect(culprit).toBeDefined();
    for (let i = 0; i < 100 && closes.length === 0; i++) await sleep(10);
    expect(closes).toHaveLength(1);
    expect(closes[0]!.id).toBe(culprit);
    expect(closes[0]!.cause).toBeInstanceOf(ProtocolError);
    expect((closes[0]!.cause as Error).message).toMatch(/no command awaiting/);
    await expect(pool.executeCommand('ECHO', 'after')).resolves.toBe('after');
    // The next caller got its own reply on a fresh connection; the lease is the same, open, working one.
    expect(fake.acceptedCount).toBe(acceptedBefore + 2);
    expect(lease.state).toBe('ready');
    await expect(lease.executeCommand('ECHO', 'still fine')).resolves.toBe('still fine');
    pool.release(lease);
    expect(closes).toHaveLength(1);
  });
});

describe('data integrity through the pool (RELIABILITY 25, 27, 28)', () => {
  const server = useRedisServer();
  watchUnhandledRejections();
  let pool: ConnectionPool;
  beforeEach(() => {
    pool = new ConnectionPool({
      host: server().host,
      port: server().port,
      commandTimeoutMs: 60_000,
    });
  });
  afterEach(async () => {
    await pool.disconnect();
  });

  it('25: protocol bytes, multibyte text and empty values are stored byte-exact, running no extra command', async () => {
    await pool.executeCommand('FLUSHDB');
    const values: Array<string | Buffer> = [
      '\r\n*1\r\n$8\r\nFLUSHALL\r\n',
      'héllo ✓ 😀 ﷽',
      '',
      Buffer.alloc(0),
      Buffer.from([0, 13, 10, 0xff, 0xfe]),
    ];
    await Promise.all(values.map((v, i) => pool.executeCommand('SET', `v${i}`, v)));
    for (let i = 0; i < values.length; i++) {
      const back = await pool.execute<Buffer>('GET', [`v${i}`], { buffers: true });
      expect(back).toEqual(Buffer.from(values[i]));
    }
    await expect(pool.executeCommand('DBSIZE')).resolves.toBe(values.length);
  });

  it('27: HGETALL with __proto__ and constructor fields returns data and pollutes nothing (RESP3)', async () => {
    const resp3 = new ConnectionPool({ host: server().host, port: server().port, protocol: 3 });
    try {
      await resp3.executeCommand(
        'HSET',
        'proto',
        '__proto__',
        'x',
        'constructor',
        'y',
        'polluted',
        'z',
      );
      const hash = await resp3.executeCommand<Record<string, string>>('HGETALL', 'proto');
      expect(Object.getPrototypeOf(hash)).toBeNull();
      expect({ ...hash }).toEqual({ ['__proto__']: 'x', constructor: 'y', polluted: 'z' });
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    } finally {
      await resp3.disconnect();
    }
  });

  it('28: a 100 000-command pipeline comes back in order', async () => {
    const replies = await Promise.all(
      Array.from({ length: 100_000 }, (_, i) =>
        i % 2 === 0
          ? pool.executeCommand('SET', `p${i}`, `v${i}`)
          : pool.executeCommand('ECHO', `e${i}`),
      ),
    );
    replies.forEach((reply, i) => expect(reply).toBe(i % 2 === 0 ? 'OK' : `e${i}`));
  });

  it.each([1, 16, 100])(
    '28: a %i MB value round-trips byte-exact while other commands interleave',
    async (mb) => {
      const value = randomBytes(mb * 1024 * 1024);
      const small = Array.from({ length: 100 }, (_, i) => pool.executeCommand('ECHO', `s${i}`));
      await expect(pool.executeCommand('SET', `big${mb}`, value)).resolves.toBe('OK');
      const back = await pool.execute<Buffer>('GET', [`big${mb}`], { buffers: true });
      expect(back.length).toBe(value.length);
      expect(back.equals(value)).toBe(true);
      const text = 'ü'.repeat((mb * 1024 * 1024) / 2);
      await pool.executeCommand('SET', `bigtext${mb}`, text);
      await expect(pool.executeCommand('GET', `bigtext${mb}`)).resolves.toBe(text);
      (await Promise.all(small)).forEach((r, i) => expect(r).toBe(`s${i}`));
      await pool.executeCommand('DEL', `big${mb}`, `bigtext${mb}`);
    },
  );

  it('the next command after all of it still gets its own reply', async () => {
    await expectOwnReply(pool);
  });
});
