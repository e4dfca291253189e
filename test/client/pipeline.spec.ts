import { AbortError } from '../../lib/errors/redis-pool.errors';
import { BATCH_CHUNK_SIZE } from '../../lib/client/command-batch';
import type { Connection } from '../../lib/connection/connection';
import { poolSource } from '../../lib/client/connection-source';
import { Pipeline } from '../../lib/client/pipeline';
import { ResponseError } from '../../lib/errors/redis-pool.errors';
import { useRedisServer } from '../harness';
import { PROTOCOLS, key, rejectionOf, sleep, useService } from './client-helpers';

describe.each(PROTOCOLS)('RedisService.pipeline (RESP%i)', (protocol) => {
  const server = useRedisServer();
  const redis = useService(server, protocol, { maxConnections: 4 });

  it('chains typed helpers and resolves one result per command, in order', async () => {
    const k = key();
    const h = key('h');
    const results: [
      'OK' | null | Error,
      string | null | Error,
      number | Error,
      Record<string, string> | Error,
      unknown,
    ] = await redis()
      .pipeline()
      .set(k, '41')
      .get(k)
      .incr(k)
      .hgetall(h)
      .executeCommand('ECHO', 'raw')
      .exec();
    expect(results[0]).toBe('OK');
    expect(results[1]).toBe('41');
    expect(results[2]).toBe(42);
    expect({ ...(results[3] as Record<string, string>) }).toEqual({});
    expect(results[4]).toBe('raw');
  });

  it('keeps errors in place and never throws the other results away', async () => {
    const k = key();
    const results = await redis()
      .pipeline()
      .set(k, 'text')
      .incr(k)
      .lpush(k, 'x')
      .executeCommand('NOSUCHCOMMAND')
      .get(k)
      .exec();
    expect(results[0]).toBe('OK');
    expect(results[1]).toBeInstanceOf(ResponseError);
    expect((results[1] as ResponseError).message).toMatch(/not an integer/);
    expect((results[2] as ResponseError).code).toBe('WRONGTYPE');
    expect((results[3] as ResponseError).code).toBe('ERR');
    expect(results[4]).toBe('text');
  });

  it('runs in the order queued even when the pool has several shared connections', async () => {
    const pool = redis().pool;
    /** Connections not leased: the shared ones. */
    const sharedNow = () => pool.stats().total - pool.stats().leased;
    // Deep bursts make the pool open more shared connections (up to its maxConnections of 4), one per burst.
    for (let burst = 0; burst < 20 && sharedNow() < 3; burst++) {
      await Promise.all(Array.from({ length: 2000 }, (_, i) => redis().echo(`warm-${i}`)));
    }
    const k = key();
    const pipeline = redis().pipeline();
    for (let i = 0; i < 500; i++) pipeline.set(k, `v${i}`).get(k);
    let fewestShared = sharedNow();
    let running = true;
    const sampler = (async () => {
      while (running) {
        fewestShared = Math.min(fewestShared, sharedNow());
        await new Promise((resolve) => setImmediate(resolve));
      }
    })();
    const results = await pipeline.exec();
    running = false;
    await sampler;
    // Several shared connections stayed open beside the pipeline's own the whole time it ran.
    expect(fewestShared).toBeGreaterThan(1);
    for (let i = 0; i < 500; i++) expect(results[2 * i + 1]).toBe(`v${i}`);
  });

  it('mixes Buffer and string results', async () => {
    const k = key();
    const binary = Buffer.from([0, 1, 2, 0xff]);
    const [, buffer, text, missing] = await redis()
      .pipeline()
      .set(k, binary)
      .getBuffer(k)
      .strlen(k)
      .getBuffer(key())
      .exec();
    expect(buffer).toEqual(binary);
    expect(text).toBe(4);
    expect(missing).toBeNull();
  });

  it('an empty pipeline resolves []; a pipeline may be filled and run again', async () => {
    const pipeline = redis().pipeline();
    await expect(pipeline.exec()).resolves.toEqual([]);
    pipeline.ping();
    expect(pipeline.length).toBe(1);
    await expect(pipeline.exec()).resolves.toEqual(['PONG']);
    expect(pipeline.length).toBe(0);
    pipeline.echo('again');
    await expect(pipeline.exec()).resolves.toEqual(['again']);
  });

  it('100 000 commands: results in order, errors in place, written in bounded chunks', async () => {
    const base = key('big');
    const wrong = `${base}:wrong`;
    await redis().set(wrong, 'not a list');
    let leased: Connection | undefined;
    const source = poolSource(redis().pool);
    const pipeline = new Pipeline(
      {
        acquire: async (signal, batch) => (leased = await source.acquire(signal, batch)),
        release: (connection, discard) => source.release(connection, discard),
      },
      {},
    );
    const total = 100_000;
    for (let i = 0; i < total; i++) {
      if (i % 1000 === 999) pipeline.lpush(wrong, 'x');
      else if (i % 2 === 0) pipeline.set(`${base}:${i}`, i);
      else pipeline.incr(`${base}:${i - 1}`);
    }
    let maxPending = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        if (leased !== undefined) maxPending = Math.max(maxPending, leased.pending);
        await new Promise((resolve) => setImmediate(resolve));
      }
    })();
    const started = Date.now();
    const results = await pipeline.exec();
    sampling = false;
    await sampler;
    expect(results).toHaveLength(total);
    const misplaced: number[] = [];
    for (let i = 0; i < total; i++) {
      const result = results[i];
      const expected =
        i % 1000 === 999
          ? result instanceof ResponseError && result.code === 'WRONGTYPE'
          : i % 2 === 0
            ? result === 'OK'
            : result === i;
      if (!expected) misplaced.push(i);
    }
    expect(misplaced).toEqual([]);
    expect(maxPending).toBeGreaterThan(0);
    expect(maxPending).toBeLessThanOrEqual(BATCH_CHUNK_SIZE);
    expect(Date.now() - started).toBeLessThan(20_000);
    await expect(redis().get(`${base}:2`)).resolves.toBe('3');
    expect(redis().pool.stats()).toMatchObject({ leased: 0 });
  });

  it('an abort rejects exec with AbortError and discards the lease; the pool carries on', async () => {
    const controller = new AbortController();
    const k = key();
    const pipeline = redis().withOptions({ signal: controller.signal }).pipeline();
    pipeline.executeCommand('DEBUG', 'SLEEP', '0.2').set(k, 'late');
    const running = pipeline.exec();
    await sleep(30);
    controller.abort();
    await expect(rejectionOf(running)).resolves.toBeInstanceOf(AbortError);
    expect(redis().pool.stats().leased).toBe(0);
    await expect(redis().ping()).resolves.toBe('PONG');
  });

  it('a pipeline on a leased client runs on that connection', async () => {
    const ids = await redis().withConnection(async (client) => {
      const own = await client.executeCommand<number>('CLIENT', 'ID');
      const [id] = await client.pipeline().executeCommand<number>('CLIENT', 'ID').exec();
      return [own, id];
    });
    expect(ids[0]).toBe(ids[1]);
  });
});
