import { createServer, connect, type Server, type Socket } from 'node:net';

import { RedisService } from '../../lib/client/redis.service';
import {
  ConnectionError,
  PoolExhaustedError,
  RedisError,
  TimeoutError,
} from '../../lib/errors/redis-pool.errors';
import { ConnectionPool } from '../../lib/pool/connection-pool';
import { LOOPBACK_HOST, seededRandom, startChaosProxy, useRedisServer } from '../harness';
import {
  expectNothingOpen,
  expectOwnReply,
  settleAll,
  sleep,
  uniqueName,
  watchUnhandledRejections,
} from './pool-checks';

/**
 * Scenario 42: 200 callers through a chaos proxy (random pauses, writes split down to single bytes, connections
 * cut at random byte offsets in both directions, stalls longer than the command timeout) for CHAOS_SECONDS
 * (default 20; the scenario's full minute is CHAOS_SECONDS=60). No caller may ever get a reply that is not its
 * own, and every caller's INCR counter must end within [acked, acked + maybe ran].
 *
 * Every proxy decision is seeded; the seed is in the test name. CHAOS_SEED=<n> replays the same faults at the
 * same byte offsets of the same connections (the callers' interleaving is not replayed). CHAOS_REPORT=1 prints
 * the run's numbers.
 */
const SEED = Number(process.env.CHAOS_SEED ?? Math.floor(Math.random() * 2 ** 31));
const SECONDS = Number(process.env.CHAOS_SECONDS ?? 20);
const CALLERS = 200;
const COMMAND_TIMEOUT_MS = 1000;
/** Longer than the command timeout (so written commands time out and their replies come late), shorter than 2×. */
const STALL_MS: [number, number] = [1100, 1600];

/** A TCP server on loopback; `onConnection` gets each accepted socket. */
async function listen(onConnection: (socket: Socket) => void): Promise<Server> {
  const server = createServer(onConnection);
  await new Promise<void>((resolve) => server.listen(0, LOOPBACK_HOST, resolve));
  return server;
}

function portOf(server: Server): number {
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no TCP address');
  return address.port;
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

function randomBytes(rng: () => number, size: number): Buffer {
  const bytes = Buffer.alloc(size);
  for (let i = 0; i < size; i++) bytes[i] = Math.floor(rng() * 256);
  return bytes;
}

/** Resolves once `socket` closed, with everything it received. */
function collect(socket: Socket): Promise<Buffer> {
  const chunks: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  socket.on('error', () => undefined);
  return new Promise((resolve) => socket.once('close', () => resolve(Buffer.concat(chunks))));
}

describe(`chaos proxy (seed ${SEED})`, () => {
  const server = useRedisServer();
  watchUnhandledRejections();

  describe('the proxy itself', () => {
    it('splits (1-byte pieces included) and pauses without losing or reordering a byte, both directions', async () => {
      const echo = await listen((socket) => {
        socket.on('error', () => undefined);
        socket.pipe(socket);
      });
      const proxy = await startChaosProxy({
        target: { host: LOOPBACK_HOST, port: portOf(echo) },
        seed: SEED,
        durationMs: 60_000,
        cutBytes: null,
        earlyCutShare: 0,
        maxDelayMs: 3,
      });
      try {
        const rng = seededRandom(SEED);
        const sent = randomBytes(rng, 200_000);
        const client = connect({ host: proxy.host, port: proxy.port });
        const chunks: Buffer[] = [];
        let received = 0;
        const all = new Promise<void>((resolve) =>
          client.on('data', (chunk: Buffer) => {
            chunks.push(chunk);
            received += chunk.length;
            if (received >= sent.length) resolve();
          }),
        );
        for (let offset = 0; offset < sent.length;) {
          const size = 1 + Math.floor(rng() * 8192);
          client.write(sent.subarray(offset, offset + size));
          offset += size;
          if (rng() < 0.3) await sleep(1);
        }
        await settleAll([all], 20_000);
        expect(Buffer.concat(chunks).equals(sent)).toBe(true);
        client.destroy();
        expect(proxy.stats.splitChunks).toBeGreaterThan(10);
        expect(proxy.stats.oneBytePieces).toBeGreaterThan(10);
        expect(proxy.stats.delayedSegments).toBeGreaterThan(0);
        expect(proxy.stats.cutsToServer + proxy.stats.cutsToClient).toBe(0);
        expect(proxy.stats.bytesToServer).toBe(sent.length);
        expect(proxy.stats.bytesToClient).toBe(sent.length);
      } finally {
        await proxy.close();
        await closeServer(echo);
      }
    });

    it.each(['client → server', 'server → client'])(
      'cuts %s at the drawn byte offset, delivering exactly the bytes before it, and a replay decides the same',
      async (direction) => {
        const towardServer = direction === 'client → server';
        const run = async (seed: number) => {
          const payload = randomBytes(seededRandom(seed), 40_000);
          let received: Promise<Buffer> | undefined;
          const peer = await listen((socket) => {
            if (towardServer) received = collect(socket);
            else {
              socket.on('error', () => undefined);
              socket.write(payload);
            }
          });
          const proxy = await startChaosProxy({
            target: { host: LOOPBACK_HOST, port: portOf(peer) },
            seed,
            durationMs: 60_000,
            cutBytes: [3000, 30_000],
            earlyCutShare: 0,
            traceLimit: 10_000,
          });
          try {
            const client = connect({ host: proxy.host, port: proxy.port });
            const clientGot = collect(client);
            if (towardServer) client.write(payload);
            const [got] = await settleAll(
              [towardServer ? clientGot.then(() => received!) : clientGot],
              20_000,
            );
            const bytes = (got as PromiseFulfilledResult<Buffer>).value;
            const lane = towardServer ? 'c1>s' : 'c1<s';
            const cutLine = proxy.trace.find((line) => line.startsWith(`${lane} cut @`))!;
            const cutAt = Number(cutLine.slice(cutLine.indexOf('@') + 1));
            return {
              cutAt,
              bytes,
              stats: { ...proxy.stats },
              trace: proxy.trace.filter((line) => line.startsWith(lane)),
            };
          } finally {
            await proxy.close();
            await closeServer(peer);
          }
        };
        const first = await run(SEED);
        expect(first.bytes.length).toBe(first.cutAt);
        expect(
          first.bytes.equals(randomBytes(seededRandom(SEED), 40_000).subarray(0, first.cutAt)),
        ).toBe(true);
        expect(towardServer ? first.stats.cutsToServer : first.stats.cutsToClient).toBe(1);
        const replay = await run(SEED);
        expect(replay.trace).toEqual(first.trace);
        expect(replay.bytes.length).toBe(first.cutAt);
        const other = await run(SEED + 1);
        expect(other.trace).not.toEqual(first.trace);
      },
    );
  });

  it(
    `${CALLERS} callers through it for ${SECONDS} s: zero wrong replies, INCR within the at-most-once window`,
    async () => {
      const started = Date.now();
      const name = uniqueName('chaos');
      const prefix = `chaos:${SEED}:${name}`;
      const proxy = await startChaosProxy({
        target: server(),
        seed: SEED,
        durationMs: SECONDS * 1000,
        cutBytes: [4096, 131_072],
        stallShare: 0.0005,
        stallMs: STALL_MS,
      });
      const pool = new ConnectionPool({
        host: proxy.host,
        port: proxy.port,
        clientName: name,
        maxConnections: 8,
        commandTimeoutMs: COMMAND_TIMEOUT_MS,
        connectTimeoutMs: 2000,
        retry: { attempts: 3, baseDelayMs: 10, maxDelayMs: 200 },
      });
      const redis = new RedisService(pool);

      let ok = 0;
      let mismatches = 0;
      const samples: string[] = [];
      const errors = new Map<string, number>();
      const untyped: unknown[] = [];
      const acked = new Array<number>(CALLERS).fill(0);
      const maybeRan = new Array<number>(CALLERS).fill(0);
      const rounds = { sequential: 0, batch: 0, pipeline: 0 };

      const wrong = (what: string) => {
        mismatches++;
        if (samples.length < 20) samples.push(what);
      };
      /** Counts a failure; whether the command may have run. */
      const failed = (error: unknown): boolean => {
        if (!(error instanceof RedisError)) {
          untyped.push(error);
          return true;
        }
        errors.set(error.constructor.name, (errors.get(error.constructor.name) ?? 0) + 1);
        return (error as { commandMayHaveRun?: boolean }).commandMayHaveRun === true;
      };
      /**
       * After a reply outside its window, the window of the next replies shifts by the excess, so one extra run
       * counts once; the final check against the server's counter stays on the raw window.
       */
      const excess = new Array<number>(CALLERS).fill(0);
      /** One INCR settled; the caller never has two in flight, so its reply is pinned to a window. */
      const incrSettled = (i: number, outcome: PromiseSettledResult<unknown>) => {
        if (outcome.status === 'rejected' || outcome.value instanceof Error) {
          const error = outcome.status === 'rejected' ? outcome.reason : outcome.value;
          if (failed(error)) maybeRan[i]++;
          return;
        }
        acked[i]++;
        const n = outcome.value;
        const low = acked[i] + excess[i];
        const high = low + maybeRan[i];
        if (typeof n === 'number' && n >= low && n <= high) {
          ok++;
          return;
        }
        wrong(`INCR of caller ${i} got ${String(n)}, window [${low}, ${high}]`);
        if (typeof n === 'number') excess[i] += n > high ? n - high : n - low;
      };

      let running = true;
      void proxy.chaosEnded.then(() => {
        running = false;
      });

      const caller = async (i: number) => {
        const rng = seededRandom(SEED ^ Math.imul(i + 1, 0x9e3779b1));
        const key = `${prefix}:k:${i}`;
        const counter = `${prefix}:n:${i}`;
        // What GET may honestly return: the value last acked or read, or the value of any SET that failed saying
        // it may have run (a written command stuck behind a stall can land long after its caller timed out and
        // moved on). A SET that failed saying it did not run must never show up.
        let current: string | null = null;
        const mayHaveRun = new Set<string>();
        const didNotRun = new Set<string>();
        const setFailed = (error: unknown, value: string) => {
          if (failed(error)) mayHaveRun.add(value);
          else didNotRun.add(value);
        };
        const checkGet = (what: string, got: unknown, alsoFine?: string): boolean => {
          if (got === current || got === alsoFine || mayHaveRun.has(got as string)) {
            ok++;
            return true;
          }
          const why = didNotRun.has(got as string) ? ' (a SET that said it did not run)' : '';
          wrong(
            `${what} of caller ${i} got ${String(got)}${why}, expected ${String(alsoFine ?? current)}`,
          );
          return false;
        };
        const pause = () => sleep(5 + Math.floor(rng() * 20));
        let round = 0;
        while (running) {
          round++;
          const value = `v${i}:${round}`;
          const token = `e${i}:${round}`;
          const kind = rng();
          if (kind < 0.1) {
            // One turn: these leave together on one connection.
            rounds.batch++;
            const [set, get, echo, incr] = await Promise.allSettled([
              pool.executeCommand('SET', key, value),
              pool.executeCommand('GET', key),
              pool.executeCommand('ECHO', token),
              pool.executeCommand('INCR', counter),
            ]);
            // A GET resent after its connection died may run before or after the SET: either value is honest.
            if (get.status === 'fulfilled') {
              if (checkGet('batch GET', get.value, value)) current = get.value as string | null;
            } else failed(get.reason);
            if (set.status === 'fulfilled') {
              if (set.value === 'OK') ok++;
              else wrong(`batch SET of caller ${i} got ${String(set.value)}`);
              current = value;
            } else setFailed(set.reason, value);
            if (echo.status === 'fulfilled') {
              if (echo.value === token) ok++;
              else wrong(`ECHO of caller ${i} got ${String(echo.value)}, expected ${token}`);
            } else failed(echo.reason);
            incrSettled(i, incr);
            if ([set, get, echo, incr].some((s) => s.status === 'rejected')) await pause();
            continue;
          }
          if (kind < 0.15) {
            // A pipeline on a leased connection: in order, errors in place.
            rounds.pipeline++;
            let results: unknown[];
            try {
              results = await redis
                .pipeline()
                .set(key, value)
                .get(key)
                .incr(counter)
                .echo(token)
                .exec();
            } catch (error) {
              if (failed(error)) {
                mayHaveRun.add(value);
                maybeRan[i]++;
              } else didNotRun.add(value);
              await pause();
              continue;
            }
            const [set, got, incr, echo] = results;
            if (set instanceof Error) setFailed(set, value);
            else if (set === 'OK') {
              ok++;
              current = value;
            } else wrong(`pipeline SET of caller ${i} got ${String(set)}`);
            if (got instanceof Error) failed(got);
            else if (checkGet('pipeline GET', got)) current = got as string | null;
            incrSettled(i, { status: 'fulfilled', value: incr });
            if (echo instanceof Error) failed(echo);
            else if (echo === token) ok++;
            else wrong(`pipeline ECHO of caller ${i} got ${String(echo)}, expected ${token}`);
            if (results.some((r) => r instanceof Error)) await pause();
            continue;
          }
          rounds.sequential++;
          try {
            const set = await pool.executeCommand('SET', key, value);
            if (set === 'OK') ok++;
            else wrong(`SET of caller ${i} got ${String(set)}`);
            current = value;
          } catch (error) {
            setFailed(error, value);
            await pause();
            continue;
          }
          try {
            const got = await pool.executeCommand<string | null>('GET', key);
            if (checkGet('GET', got)) current = got;
          } catch (error) {
            failed(error);
            await pause();
            continue;
          }
          const incr = await Promise.allSettled([pool.executeCommand('INCR', counter)]);
          incrSettled(i, incr[0]);
          if (incr[0].status === 'rejected') await pause();
        }
      };

      try {
        const callers = Array.from({ length: CALLERS }, (_, i) => caller(i));
        // Each command has a 1 s deadline, so callers stop within moments of the chaos ending; generous anyway.
        const settled = await settleAll(callers, SECONDS * 1000 + 60_000);
        const chaosDone = Date.now();
        expect(settled.filter((s) => s.status === 'rejected')).toEqual([]);

        // The proxy forwards cleanly now; a late stall may still hold a few bytes for up to STALL_MS.
        await sleep(STALL_MS[1] + 500);
        const counters = Array.from({ length: CALLERS }, (_, i) => `${prefix}:n:${i}`);
        const listed = await server().cli(
          'EVAL',
          "local r = {} for i, k in ipairs(KEYS) do r[i] = tonumber(redis.call('GET', k) or '0') end return r",
          String(CALLERS),
          ...counters,
        );
        const finals = listed.split('\n').map((line) => Number(line.trim()));
        expect(finals).toHaveLength(CALLERS);
        const outside: string[] = [];
        for (let i = 0; i < CALLERS; i++)
          if (finals[i] < acked[i] || finals[i] > acked[i] + maybeRan[i])
            outside.push(
              `caller ${i}: ${finals[i]} not in [${acked[i]}, ${acked[i] + maybeRan[i]}]`,
            );

        // The pool serves again: every caller gets its own reply, with no error at all.
        let recoveryRounds = 0;
        let recovered = false;
        let lastFailure: unknown;
        for (const deadline = Date.now() + 20_000; Date.now() < deadline;) {
          recoveryRounds++;
          const round = await settleAll(
            Array.from({ length: CALLERS }, async (_, i) => {
              const value = `after:${i}:${recoveryRounds}`;
              if ((await pool.executeCommand('SET', `${prefix}:k:${i}`, value)) !== 'OK')
                return false;
              return (await pool.executeCommand('GET', `${prefix}:k:${i}`)) === value;
            }),
            10_000,
          );
          const failure = round.find((s) => s.status === 'rejected');
          if (round.some((s) => s.status === 'fulfilled' && !s.value))
            wrong('a reply after the chaos was not its own');
          if (failure === undefined) {
            recovered = true;
            break;
          }
          lastFailure = (failure as PromiseRejectedResult).reason;
          await sleep(200);
        }
        await expectOwnReply(pool);

        const totalAcked = acked.reduce((a, b) => a + b, 0);
        const totalMaybe = maybeRan.reduce((a, b) => a + b, 0);
        const report = {
          seed: SEED,
          seconds: SECONDS,
          ok,
          mismatches,
          errors: Object.fromEntries(errors),
          rounds,
          incr: {
            acked: totalAcked,
            maybeRan: totalMaybe,
            counted: finals.reduce((a, b) => a + b, 0),
          },
          proxy: proxy.stats,
          recoveryRounds,
          lastRecoveryFailure: lastFailure === undefined ? null : String(lastFailure),
          chaosMs: chaosDone - started,
        };
        if (process.env.CHAOS_REPORT)
          process.stdout.write(`chaos-proxy report ${JSON.stringify(report)}\n`);

        expect({ mismatches, samples }).toEqual({ mismatches: 0, samples: [] });
        expect(outside).toEqual([]);
        expect(untyped).toEqual([]);
        for (const kind of errors.keys())
          expect([ConnectionError.name, TimeoutError.name, PoolExhaustedError.name]).toContain(
            kind,
          );
        // It cannot pass by failing everything: most commands succeed, and every kind of round ran.
        expect(ok).toBeGreaterThan(SECONDS * 1000);
        expect(totalAcked).toBeGreaterThan(SECONDS * 100);
        expect(rounds.batch).toBeGreaterThan(SECONDS * 10);
        expect(rounds.pipeline).toBeGreaterThan(SECONDS * 5);
        // The chaos really happened: cuts both ways, split writes with 1-byte pieces, stalls past the timeout.
        // (About two cuts a second each way are drawn; a loaded machine runs fewer rounds, hence the half.)
        expect(proxy.stats.cutsToServer).toBeGreaterThan(SECONDS / 2);
        expect(proxy.stats.cutsToClient).toBeGreaterThan(SECONDS / 2);
        expect(proxy.stats.splitChunks).toBeGreaterThan(SECONDS * 100);
        expect(proxy.stats.oneBytePieces).toBeGreaterThan(SECONDS * 100);
        expect(proxy.stats.stalls).toBeGreaterThan(0);
        expect(errors.get(ConnectionError.name) ?? 0).toBeGreaterThan(0);
        expect(recovered).toBe(true);

        await expectNothingOpen(pool, server(), name);
        for (let i = 0; i < 50 && proxy.connectionCount > 0; i++) await sleep(20);
        expect(proxy.connectionCount).toBe(0);
      } finally {
        running = false;
        await pool.disconnect();
        await proxy.close();
      }
    },
    SECONDS * 1000 + 120_000,
  );
});
