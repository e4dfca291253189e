import { AbortError } from '../../lib/errors/redis-pool.errors';
import {
  CommandNotAllowedError,
  ResponseError,
  TimeoutError,
} from '../../lib/errors/redis-pool.errors';
import { useRedisServer } from '../harness';
import { PROTOCOLS, key, rejectionOf, sleep, useService } from './client-helpers';

describe.each(PROTOCOLS)(
  'RedisService server commands and per-call options (RESP%i)',
  (protocol) => {
    const server = useRedisServer();
    const redis = useService(server, protocol);

    it('ping and echo', async () => {
      await expect(redis().ping()).resolves.toBe('PONG');
      await expect(redis().ping('héllo')).resolves.toBe('héllo');
      await expect(redis().echo('✓ ünïcode')).resolves.toBe('✓ ünïcode');
    });

    it('info is parsed into lower-case sections of null-prototype records', async () => {
      await redis().set(key(), 'v');
      const info = await redis().info();
      expect(Object.getPrototypeOf(info)).toBeNull();
      expect(info['server']['redis_version']).toMatch(/^\d+\.\d+\.\d+/);
      expect(info['server']['tcp_port']).toBe(String(server().port));
      expect(info['clients']['connected_clients']).toMatch(/^\d+$/);
      expect(info['keyspace']['db0']).toMatch(/^keys=\d+,expires=\d+/);
      const only = await redis().info('server');
      expect(Object.keys(only)).toEqual(['server']);
      const two = await redis().info('server', 'memory');
      expect(Object.keys(two).sort()).toEqual(['memory', 'server']);
    });

    it('dbsize, flushdb, time', async () => {
      await redis().set(key(), 'v');
      expect(await redis().dbsize()).toBeGreaterThan(0);
      await expect(redis().flushdb()).resolves.toBe('OK');
      await expect(redis().dbsize()).resolves.toBe(0);
      await redis().set(key(), 'v');
      await expect(redis().flushdb('ASYNC')).resolves.toBe('OK');
      const { seconds, microseconds } = await redis().time();
      expect(Math.abs(seconds - Date.now() / 1000)).toBeLessThan(5);
      expect(microseconds).toBeGreaterThanOrEqual(0);
      expect(microseconds).toBeLessThan(1_000_000);
    });

    it('publish and spublish count receivers (none here)', async () => {
      await expect(redis().publish(key('ch'), 'hello')).resolves.toBe(0);
      await expect(redis().spublish(key('ch'), 'hello')).resolves.toBe(0);
    });

    it('executeCommand is the generic path: raw replies, errors rejected, same refusals as the pool', async () => {
      const k = key();
      await expect(redis().executeCommand('SET', k, 'v')).resolves.toBe('OK');
      await expect(redis().executeCommand<string>('GET', k)).resolves.toBe('v');
      await expect(redis().executeCommand('CONFIG GET', 'maxmemory-policy')).resolves.toBeTruthy();
      await expect(redis().executeCommandBuffer('GET', k)).resolves.toEqual(Buffer.from('v'));
      const error = await rejectionOf(redis().executeCommand('NOSUCHCOMMAND'));
      expect(error).toBeInstanceOf(ResponseError);
      expect((error as ResponseError).code).toBe('ERR');
      const refused = await rejectionOf(redis().executeCommand('BLPOP', k, 1));
      expect(refused).toBeInstanceOf(CommandNotAllowedError);
      expect(refused.message).toMatch(/withConnection/);
      await expect(
        redis().executeCommand('SET', k, undefined as unknown as string),
      ).rejects.toThrow(TypeError);
    });

    describe('withOptions', () => {
      it('timeoutMs applies to the view only', async () => {
        const slow = redis().executeCommand('DEBUG', 'SLEEP', '0.3');
        const fast = redis().withOptions({ timeoutMs: 50 });
        const error = await rejectionOf(fast.get(key()));
        expect(error).toBeInstanceOf(TimeoutError);
        await expect(slow).resolves.toBe('OK');
        await expect(redis().ping()).resolves.toBe('PONG');
        await expect(fast.ping()).resolves.toBe('PONG');
      });

      it('an aborted signal rejects with AbortError before anything is sent', async () => {
        const controller = new AbortController();
        controller.abort();
        const k = key();
        const error = await rejectionOf(
          redis().withOptions({ signal: controller.signal }).set(k, 'v'),
        );
        expect(error).toBeInstanceOf(AbortError);
        await expect(redis().exists(k)).resolves.toBe(0);
      });

      it('aborting mid-flight rejects at once, and the late reply is dropped without desync', async () => {
        const controller = new AbortController();
        const view = redis().withOptions({ signal: controller.signal });
        const k = key();
        await redis().set(k, 'mine');
        const sleeping = redis().executeCommand('DEBUG', 'SLEEP', '0.2');
        const aborted = view.get(k);
        await sleep(20);
        const started = Date.now();
        controller.abort(new Error('user gave up'));
        const error = await rejectionOf(aborted);
        expect(Date.now() - started).toBeLessThan(100);
        expect(error).toBeInstanceOf(AbortError);
        expect((error as AbortError).cause).toEqual(new Error('user gave up'));
        await sleeping;
        const others = await Promise.all(
          Array.from({ length: 20 }, (_, i) => redis().echo(`own-${i}`)),
        );
        expect(others).toEqual(Array.from({ length: 20 }, (_, i) => `own-${i}`));
        await expect(redis().get(k)).resolves.toBe('mine');
      });

      it('views share the service: the same pool and subscriber', () => {
        const view = redis().withOptions({ timeoutMs: 10 });
        expect(view.pool).toBe(redis().pool);
        expect(view.subscriber).toBe(redis().subscriber);
        expect(view.withOptions({ retryable: true }).pool).toBe(redis().pool);
      });
    });
  },
);
