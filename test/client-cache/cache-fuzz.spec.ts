import { ConnectionPool } from '../../lib/pool/connection-pool';
import { startRedisServer, type RedisServerHandle } from '../harness';
import { watchUnhandledRejections } from '../pool/pool-checks';

/** How long the writers write; the full run: CACHE_FUZZ_MS=30000. */
const DURATION_MS = Number(process.env.CACHE_FUZZ_MS ?? 5000);
const READERS = 50;
const WRITERS = 10;
const KEYS = Array.from({ length: 16 }, (_, i) => `fuzz:${i}`);

const pick = <T>(items: readonly T[]): T => items[Math.floor(Math.random() * items.length)];

describe('client-side cache: fuzz, 50 cached readers and 10 writers', () => {
  watchUnhandledRejections();
  let server: RedisServerHandle;

  beforeAll(async () => {
    server = await startRedisServer();
  });
  afterAll(() => server.dispose());

  it(
    'after a write is acknowledged and every reader made one round trip, no reader serves an older value',
    async () => {
      const writer = new ConnectionPool({
        host: server.host,
        port: server.port,
        maxConnections: WRITERS,
      });
      await writer.executeCommand('MSET', ...KEYS.flatMap((key) => [key, '0']));
      // One connection each, so a PING through a reader is a round trip on the very socket its pushes use.
      const readers = Array.from(
        { length: READERS },
        () =>
          new ConnectionPool({
            host: server.host,
            port: server.port,
            protocol: 3,
            maxConnections: 1,
            commandTimeoutMs: 20_000,
            clientSideCache: {},
          }),
      );
      const problems: string[] = [];
      const stopAt = Date.now() + DURATION_MS;
      let checkedWrites = 0;
      let ownWrites = 0;

      const readLoop = async (reader: ConnectionPool) => {
        while (Date.now() < stopAt) {
          const key = pick(KEYS);
          if (Math.random() < 0.02) {
            // This pool's own write: its next read sees it at once, with no push needed.
            const written = await reader.executeCommand<number>('INCR', key);
            const read = Number(await reader.executeCommand('GET', key));
            ownWrites++;
            if (read < written) problems.push(`own write ${key}=${written}, then read ${read}`);
          } else if (Math.random() < 0.1) {
            await reader.execute('GET', [key], { buffers: true });
          } else {
            await reader.executeCommand('GET', key);
          }
          // Yield now and then so the writers' checks get their turn on a loaded machine.
          if (Math.random() < 0.2) await new Promise((resolve) => setImmediate(resolve));
        }
      };
      const writeLoop = async () => {
        while (Date.now() < stopAt) {
          const key = pick(KEYS);
          const written = await writer.executeCommand<number>('INCR', key);
          await Promise.all(readers.map((reader) => reader.executeCommand('PING')));
          const reads = await Promise.all(
            readers.map((reader) => reader.executeCommand('GET', key)),
          );
          for (const [i, read] of reads.entries()) {
            if (Number(read) < written)
              problems.push(`reader ${i}: ${key}=${read} after ${written} was acknowledged`);
          }
          checkedWrites++;
        }
      };

      await Promise.all([...readers.map(readLoop), ...Array.from({ length: WRITERS }, writeLoop)]);
      expect(problems.slice(0, 10)).toEqual([]);
      expect(checkedWrites).toBeGreaterThan(WRITERS);
      expect(ownWrites).toBeGreaterThan(0);

      // Quiet now: after one round trip on each reader, every entry it still holds equals the server's value.
      const truth = await writer.executeCommand<string[]>('MGET', ...KEYS);
      let hits = 0;
      let invalidations = 0;
      for (const reader of readers) {
        await reader.executeCommand('PING');
        const before = reader.cacheStats();
        for (const [i, key] of KEYS.entries()) {
          await expect(reader.executeCommand('GET', key)).resolves.toBe(truth[i]);
          await expect(reader.execute('GET', [key], { buffers: true })).resolves.toEqual(
            Buffer.from(truth[i]),
          );
        }
        const after = reader.cacheStats();
        expect(after.entries).toBeLessThanOrEqual(2 * KEYS.length);
        // Entries kept through the quiet check were hits: they were compared too.
        hits += after.hits - before.hits;
        invalidations += after.invalidations;
      }
      expect(hits).toBeGreaterThan(0);
      expect(invalidations).toBeGreaterThan(0);
      await Promise.all([writer.disconnect(), ...readers.map((reader) => reader.disconnect())]);
    },
    DURATION_MS + 60_000,
  );
});
