import { TransactionAbortedError } from '../../lib/errors/redis-pool.errors';
import type { RedisService } from '../../lib/client/redis.service';
import { ResponseError } from '../../lib/errors/redis-pool.errors';
import { useRedisServer } from '../harness';
import { PROTOCOLS, key, openService, rejectionOf, useService, waitFor } from './client-helpers';

describe.each(PROTOCOLS)('RedisService transactions (RESP%i)', (protocol) => {
  const server = useRedisServer();
  const redis = useService(server, protocol);
  /** Another client, on its own pool: it provokes the WATCH conflicts. */
  let other: RedisService;
  beforeEach(() => {
    other = openService(server(), protocol);
  });
  afterEach(async () => {
    await other.pool.disconnect();
  });

  describe('multi()', () => {
    it('runs MULTI/EXEC and resolves typed results', async () => {
      const k = key();
      const results = await redis().multi().set(k, '1').incr(k).get(k).exec();
      expect(results).toEqual(['OK', 2, '2']);
      expect(redis().pool.stats().leased).toBe(0);
    });

    it('keeps run-time errors (WRONGTYPE) in place; the other commands ran', async () => {
      const k = key();
      const results = await redis().multi().set(k, 'a').lpush(k, 'x').append(k, 'b').exec();
      expect(results?.[0]).toBe('OK');
      expect((results?.[1] as ResponseError).code).toBe('WRONGTYPE');
      expect(results?.[2]).toBe(2);
      await expect(redis().get(k)).resolves.toBe('ab');
    });

    it('a command refused at queue time aborts everything: EXECABORT naming it', async () => {
      const k = key();
      const error = await rejectionOf(
        redis().multi().set(k, 'v').executeCommand('SET', k).incr(k).exec(),
      );
      expect(error).toBeInstanceOf(ResponseError);
      expect((error as ResponseError).code).toBe('EXECABORT');
      expect(error.message).toMatch(/#2 \(SET\).*wrong number of arguments/);
      await expect(redis().exists(k)).resolves.toBe(0);
      expect(redis().pool.stats().leased).toBe(0);
      await expect(redis().multi().ping().exec()).resolves.toEqual(['PONG']);
    });

    it('mixes Buffer and string results in one EXEC', async () => {
      const [k, h] = [key(), key('h')];
      const binary = Buffer.from([0xde, 0xad, 0x00, 0xbe, 0xef]);
      await redis().hset(h, [['__proto__', 'p']]);
      const [set, buffer, text, all, scored] = (await redis()
        .multi()
        .set(k, binary)
        .getBuffer(k)
        .echo('text')
        .hgetall(h)
        .zrangeWithScores(key(), 0, -1)
        .exec()) as unknown[];
      expect(set).toBe('OK');
      expect(buffer).toEqual(binary);
      expect(text).toBe('text');
      expect(Object.getPrototypeOf(all)).toBeNull();
      expect((all as Record<string, string>)['__proto__']).toBe('p');
      expect(scored).toEqual([]);
    });

    it('an empty transaction resolves []', async () => {
      await expect(redis().multi().exec()).resolves.toEqual([]);
    });
  });

  describe('watch()', () => {
    it('EXEC aborted by a write from another connection resolves null', async () => {
      const k = key();
      await redis().set(k, 'start');
      const outcome = await redis().withConnection(async (client) => {
        await client.executeCommand('WATCH', k);
        await other.set(k, 'changed elsewhere');
        return client.multi().set(k, 'mine').exec();
      });
      expect(outcome).toBeNull();
      await expect(redis().get(k)).resolves.toBe('changed elsewhere');
    });

    it('retries after a conflict and succeeds within its retries', async () => {
      const k = key();
      await redis().set(k, '10');
      let runs = 0;
      const result = await redis().watch(
        k,
        async (tx) => {
          runs++;
          const value = Number(await tx.get(k));
          if (runs === 1) await other.incrby(k, 5);
          return tx
            .multi()
            .set(k, value * 2)
            .exec();
        },
        { retries: 3 },
      );
      expect(runs).toBe(2);
      expect(result).toEqual(['OK']);
      await expect(redis().get(k)).resolves.toBe('30');
    });

    it('gives up with TransactionAbortedError after its retries', async () => {
      const k = key();
      let runs = 0;
      const error = await rejectionOf(
        redis().watch(
          [k],
          async (tx) => {
            runs++;
            await other.incr(k);
            return tx.multi().set(k, 'never').exec();
          },
          { retries: 2 },
        ),
      );
      expect(error).toBeInstanceOf(TransactionAbortedError);
      expect((error as TransactionAbortedError).attempts).toBe(3);
      expect(runs).toBe(3);
      await expect(redis().get(k)).resolves.toBe('3');
      await waitFor(() => redis().pool.stats().leased === 0, 1000, 'the lease to come back');
    });

    it('concurrent read-modify-write loops on one key lose no update', async () => {
      const k = key();
      await redis().set(k, '0');
      await Promise.all(
        Array.from({ length: 8 }, () =>
          redis().watch(
            k,
            async (tx) => {
              const value = Number(await tx.get(k));
              return tx
                .multi()
                .set(k, value + 1)
                .exec();
            },
            { retries: 20 },
          ),
        ),
      );
      await expect(redis().get(k)).resolves.toBe('8');
    });

    it('a callback that throws releases a clean connection: the next borrower gets that same one, unwatched, out of MULTI, on its db', async () => {
      // One connection only, so the next borrower can only be the one the callback dirtied (or a replacement).
      const single = openService(server(), protocol, { maxConnections: 1 });
      try {
        const k = key();
        let dirtiedId = -1;
        const error = await rejectionOf(
          single.watch(k, async (tx) => {
            dirtiedId = await tx.executeCommand<number>('CLIENT', 'ID');
            await tx.executeCommand('SELECT', 5);
            await tx.executeCommand('MULTI');
            await expect(tx.executeCommand('SET', k, 'queued, never run')).resolves.toBe('QUEUED');
            throw new Error('boom');
          }),
        );
        expect(error.message).toBe('boom');
        // Releasing a dirty lease sends DISCARD, UNWATCH and SELECT first, so the lease count drops a moment later.
        await waitFor(() => single.pool.stats().leased === 0, 1000, 'the lease to come back');
        const next = await single.withConnection(async (client) => ({
          id: await client.executeCommand<number>('CLIENT', 'ID'),
          info: await client.executeCommand<string>('CLIENT', 'INFO'),
        }));
        expect(next.id).toBe(dirtiedId);
        expect(next.info).toMatch(/ db=0 /);
        expect(next.info).toMatch(/ multi=-1 /);
        // The SET queued in db 5 was discarded, not run by a later EXEC.
        expect(await server().cli('-n', '5', 'EXISTS', k)).toBe('0');
        await expect(other.get(k)).resolves.toBeNull();
        // Unwatched: a write elsewhere does not abort the next transaction on that same connection.
        await other.set(k, 'x');
        const results = await single.multi().set(k, 'y').executeCommand('CLIENT', 'ID').exec();
        expect(results).toEqual(['OK', dirtiedId]);
        await expect(other.get(k)).resolves.toBe('y');
      } finally {
        await single.pool.disconnect();
      }
    });

    it('a callback that does not EXEC resolves its own value', async () => {
      const k = key();
      await redis().set(k, 'seen');
      await expect(redis().watch(k, async (tx) => tx.get(k))).resolves.toBe('seen');
    });
  });

  describe('transaction()', () => {
    it('without watch keys it runs once; reads and the transaction share the connection', async () => {
      const k = key();
      const result = await redis().transaction(async (tx) => {
        const id = await tx.executeCommand<number>('CLIENT', 'ID');
        const [, inside] = (await tx
          .multi()
          .set(k, 'v')
          .executeCommand('CLIENT', 'ID')
          .exec()) as unknown[];
        return { id, inside };
      });
      expect(result.inside).toBe(result.id);
    });

    it('with watch keys it retries like watch()', async () => {
      const k = key();
      let runs = 0;
      const result = await redis().transaction(
        async (tx) => {
          runs++;
          if (runs < 3) await other.set(k, `bump-${runs}`);
          return tx.multi().set(k, 'final').exec();
        },
        { watch: [k], retries: 5 },
      );
      expect(result).toEqual(['OK']);
      expect(runs).toBe(3);
    });

    it('refuses a negative retry count', async () => {
      await expect(redis().transaction(async () => 1, { retries: -1 })).rejects.toThrow(TypeError);
    });
  });
});
