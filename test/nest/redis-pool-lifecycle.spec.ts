import { createServer } from 'node:net';
import {
  Controller,
  Get,
  Injectable,
  Param,
  type BeforeApplicationShutdown,
  type INestApplication,
  type OnModuleDestroy,
} from '@nestjs/common';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import { RedisService } from '../../lib/client/redis.service';
import { ConnectionError } from '../../lib/errors/redis-pool.errors';
import { ConnectionPool } from '../../lib/pool/connection-pool';
import { InjectRedis } from '../../lib/nest/redis.decorators';
import { getPoolToken } from '../../lib/nest/redis.tokens';
import { RedisPoolModule } from '../../lib/nest/redis-pool.module';
import {
  getFreePorts,
  startFakeRespServer,
  startRedisServer,
  useRedisServer,
  type RedisServerHandle,
} from '../harness';
import {
  LogCapture,
  bootApp,
  closeApp,
  closeApps,
  connectionsNamed,
  sleep,
  unique,
  waitFor,
} from './nest-helpers';

@Controller()
class CounterController {
  constructor(@InjectRedis() private readonly redis: RedisService) {}

  @Get('incr/:key')
  async incr(@Param('key') key: string): Promise<{ value: number }> {
    return { value: Number(await this.redis.incr(key)) };
  }
}

const status = async (app: INestApplication, path: string): Promise<number> =>
  (await request(app.getHttpServer()).get(path)).status;

describe('RedisPoolModule lifecycle', () => {
  const server = useRedisServer();
  afterEach(closeApps);

  describe('shutdown', () => {
    it('closes every socket of the pool on app.close()', async () => {
      const clientName = unique('shutdown');
      const { app, logs } = await bootApp({
        imports: [RedisPoolModule.forRoot({ url: server().url, clientName, minIdle: 2 })],
        controllers: [CounterController],
      });
      await Promise.all(
        Array.from({ length: 20 }, () =>
          request(app.getHttpServer())
            .get(`/incr/${unique('s')}`)
            .expect(200),
        ),
      );
      expect(await connectionsNamed(server(), clientName)).toBeGreaterThanOrEqual(2);
      const pool = app.get(ConnectionPool);

      await closeApp(app);

      expect(pool.closed).toBe(true);
      expect(pool.stats()).toMatchObject({ total: 0, connecting: 0 });
      expect(await connectionsNamed(server(), clientName)).toBe(0);
      expect(logs.lines('log')).toContain('Redis pool "default" closed');
    });

    it('closes each named pool once, after onModuleDestroy and beforeApplicationShutdown used them', async () => {
      const used: string[] = [];
      @Injectable()
      class FlushOnShutdown implements OnModuleDestroy, BeforeApplicationShutdown {
        constructor(
          @InjectRedis() private readonly redis: RedisService,
          @InjectRedis('other') private readonly other: RedisService,
        ) {}
        async onModuleDestroy(): Promise<void> {
          used.push(String(await this.redis.set('lifecycle:destroy', '1')));
        }
        async beforeApplicationShutdown(): Promise<void> {
          used.push(String(await this.other.set('lifecycle:before', '1')));
        }
      }
      const [a, b] = [unique('main'), unique('other')];
      const { app, logs } = await bootApp({
        imports: [
          RedisPoolModule.forRoot({ url: server().url, clientName: a }),
          RedisPoolModule.forRootAsync({
            name: 'other',
            useFactory: () => ({ url: server().url, clientName: b }),
          }),
        ],
        providers: [FlushOnShutdown],
      });
      await app.get<RedisService>(RedisService).ping();
      await closeApp(app);
      expect(used).toEqual(['OK', 'OK']);
      expect(await connectionsNamed(server(), a)).toBe(0);
      expect(await connectionsNamed(server(), b)).toBe(0);
      expect(
        logs
          .lines('log')
          .filter((line) => line.endsWith('closed'))
          .sort(),
      ).toEqual(['Redis pool "default" closed', 'Redis pool "other" closed']);
    });

    it('lets an in-flight command finish within the drain deadline', async () => {
      const { app } = await bootApp({
        imports: [RedisPoolModule.forRoot({ url: server().url })],
      });
      const redis = app.get(RedisService);
      await redis.ping();
      const slow = redis.executeCommand('DEBUG', 'SLEEP', '0.3');
      await closeApp(app);
      await expect(slow).resolves.toBe('OK');
    });

    it('cuts in-flight commands at drainTimeoutMs', async () => {
      const { app } = await bootApp({
        imports: [RedisPoolModule.forRoot({ url: server().url, drainTimeoutMs: 100 })],
      });
      const redis = app.get(RedisService);
      await redis.ping();
      const slow = redis.executeCommand('DEBUG', 'SLEEP', '1');
      slow.catch(() => undefined);
      const started = Date.now();
      await closeApp(app);
      expect(Date.now() - started).toBeLessThan(800);
      await expect(slow).rejects.toThrow();
      // Let the server wake up before the next test talks to it.
      await server().cli('PING');
    });

    it('logs a failing disconnect and never rethrows it', async () => {
      const { app, logs } = await bootApp({
        imports: [RedisPoolModule.forRoot({ url: server().url })],
      });
      const pool = app.get(ConnectionPool);
      await pool.executeCommand('PING');
      const spy = jest
        .spyOn(pool, 'disconnect')
        .mockRejectedValueOnce(new Error('socket exploded'));
      await expect(closeApp(app)).resolves.toBeUndefined();
      expect(logs.lines('error')).toEqual([
        'Redis pool "default" did not close cleanly: socket exploded',
      ]);
      spy.mockRestore();
      await pool.disconnect();
    });
  });

  describe("startup: 'lazy' (the default)", () => {
    let port: number;
    beforeEach(async () => {
      [port] = await getFreePorts(1);
    });

    it('boots without Redis, says so once, fails requests fast, logs "connected" first and "reconnected" later', async () => {
      const url = `redis://:s3cret-pw@127.0.0.1:${port}`;
      const started = Date.now();
      const { app, logs } = await bootApp({
        imports: [RedisPoolModule.forRoot({ url, retry: { baseDelayMs: 20, maxDelayMs: 100 } })],
        controllers: [CounterController],
      });
      expect(Date.now() - started).toBeLessThan(1500);
      await waitFor(() => logs.lines('warn').length > 0, 3000, 'the boot warning');
      const key = unique('lazy');
      for (let i = 0; i < 10; i++) expect(await status(app, `/incr/${key}`)).toBe(500);
      expect(logs.lines('warn')).toEqual([
        expect.stringMatching(
          new RegExp(
            `^Redis pool "default" cannot reach redis://:\\*\\*\\*\\*@127\\.0\\.0\\.1:${port}: .*ECONNREFUSED.*\\. ` +
              "The application runs without it \\(startup: 'lazy'\\); commands fail until Redis is reachable\\.$",
          ),
        ),
      ]);

      let late: RedisServerHandle | undefined;
      try {
        late = await startRedisServer({ port, password: 's3cret-pw' });
        await waitFor(async () => (await status(app, `/incr/${key}`)) === 200, 5000, 'recovery');
        // The first time the pool reaches Redis it is "connected", not "reconnected".
        expect(logs.lines('log')).toEqual([
          `Redis pool "default" connected to redis://:****@127.0.0.1:${port}`,
        ]);
        await late.kill();
        for (let i = 0; i < 5; i++) await status(app, `/incr/${key}`);
        await waitFor(() => logs.lines('warn').length === 2, 3000, 'the second warning');
        expect(logs.lines('warn')[1]).toMatch(
          /cannot reach .*Commands fail until it is reachable again\.$/,
        );
        await late.start();
        await waitFor(async () => (await status(app, `/incr/${key}`)) === 200, 5000, 'recovery');
        expect(logs.lines('log')).toEqual([
          `Redis pool "default" connected to redis://:****@127.0.0.1:${port}`,
          `Redis pool "default" reconnected to redis://:****@127.0.0.1:${port}`,
        ]);
      } finally {
        await late?.dispose();
      }
      expect(logs.text()).not.toContain('s3cret-pw');
    });

    it('logs once that Redis is reachable when it is', async () => {
      const { app, logs } = await bootApp({
        imports: [RedisPoolModule.forRoot({ url: server().url })],
      });
      await waitFor(() => logs.lines('log').length > 0, 3000, 'the boot log');
      expect(logs.lines('log')[0]).toMatch(
        new RegExp(
          `^Redis pool "default" connected to redis://127\\.0\\.0\\.1:${server().port} \\(PING \\d+ ms\\)$`,
        ),
      );
      for (let i = 0; i < 20; i++) await app.get(RedisService).incr(unique('quiet'));
      expect(logs.lines()).toHaveLength(1);
    });

    it('closes cleanly when closed before the boot PING answered: within drainTimeoutMs, no socket left, nothing logged or rejected unhandled', async () => {
      // Accepts connections and never answers, so the boot PING cannot be answered before the close.
      const silent = await startFakeRespServer(() => undefined);
      const unhandled: unknown[] = [];
      const onUnhandled = (reason: unknown) => unhandled.push(reason);
      process.on('unhandledRejection', onUnhandled);
      try {
        const { app, logs } = await bootApp({
          imports: [
            RedisPoolModule.forRoot({ host: silent.host, port: silent.port, drainTimeoutMs: 200 }),
          ],
        });
        const pool = app.get(ConnectionPool);
        await waitFor(() => silent.commands.length > 0, 3000, 'the handshake to reach the server');
        // Still connecting: the handshake is unanswered, the boot PING waits behind it.
        expect(pool.stats()).toMatchObject({ total: 0, connecting: 1 });
        const started = Date.now();
        await closeApp(app);
        // The drain deadline (200 ms) cuts the wait, not connectTimeoutMs (5 s) or the boot probe's timeout.
        expect(Date.now() - started).toBeLessThan(1500);
        expect(pool.closed).toBe(true);
        expect(pool.stats()).toMatchObject({ total: 0, connecting: 0, pending: 0, waiting: 0 });
        await waitFor(
          () => silent.connections.length === 0,
          1000,
          'the server to see the socket close',
        );
        // Whatever the boot PING settles with after the close must neither be logged nor go unhandled.
        await sleep(100);
        expect(unhandled).toEqual([]);
        expect(logs.lines('warn')).toEqual([]);
        expect(logs.lines('error')).toEqual([]);
        expect(logs.lines('log')).toEqual(['Redis pool "default" closed']);
        expect(silent.acceptedCount).toBe(1);
      } finally {
        process.off('unhandledRejection', onUnhandled);
        await silent.close();
      }
    });
  });

  describe("startup: 'wait'", () => {
    it('boots once Redis answers PING, even when it starts late', async () => {
      const [port] = await getFreePorts(1);
      let late: RedisServerHandle | undefined;
      // The port is held (every connection dropped) until Redis takes it, so no other process can grab it
      // between the pick and the late start.
      const holder = createServer((socket) => socket.destroy());
      await new Promise<void>((resolve) => holder.listen(port, '127.0.0.1', resolve));
      const starting = (async () => {
        await new Promise((resolve) => setTimeout(resolve, 300));
        await new Promise((resolve) => holder.close(resolve));
        late = await startRedisServer({ port });
      })();
      try {
        const { app, logs } = await bootApp({
          imports: [
            RedisPoolModule.forRoot({
              port,
              host: '127.0.0.1',
              startup: 'wait',
              startupTimeoutMs: 8000,
              retry: { baseDelayMs: 20, maxDelayMs: 100 },
            }),
          ],
          controllers: [CounterController],
        });
        await starting;
        expect(await status(app, `/incr/${unique('wait')}`)).toBe(200);
        expect(logs.lines('warn')).toEqual([
          expect.stringMatching(
            /^Redis pool "default" cannot reach .* yet .*waiting up to 8000 ms/,
          ),
        ]);
        expect(logs.lines('log')[0]).toMatch(
          /^Redis pool "default" connected to redis:\/\/127\.0\.0\.1:\d+ \(PING \d+ ms\)$/,
        );
        await closeApp(app);
      } finally {
        await starting.catch(() => undefined);
        await late?.dispose();
      }
    });

    it('fails the boot with a clear error, password masked, within startupTimeoutMs', async () => {
      const [port] = await getFreePorts(1);
      const logs = new LogCapture();
      const started = Date.now();
      const error = await Test.createTestingModule({
        imports: [
          RedisPoolModule.forRoot({
            url: `redis://:s3cret-pw@127.0.0.1:${port}/2`,
            startup: 'wait',
            startupTimeoutMs: 500,
          }),
        ],
      })
        .setLogger(logs)
        .compile()
        .then(
          () => new Error('compile() should have failed'),
          (reason: unknown) => reason,
        );
      expect(Date.now() - started).toBeLessThan(2000);
      expect(error).toBeInstanceOf(ConnectionError);
      expect((error as Error).message).toMatch(
        new RegExp(
          `^Redis pool "default" is not ready: redis://:\\*\\*\\*\\*@127\\.0\\.0\\.1:${port}/2 did not answer PING within 500 ms \\(startup: 'wait'\\)\\. Last error: .*ECONNREFUSED`,
        ),
      );
      expect((error as Error).message).not.toContain('s3cret-pw');
      expect(logs.text()).not.toContain('s3cret-pw');
    });

    it('fails at once on wrong credentials', async () => {
      const secured = await startRedisServer({ password: 'right-pw' });
      try {
        const error = await Test.createTestingModule({
          imports: [
            RedisPoolModule.forRoot({
              url: `redis://:wrong-pw@127.0.0.1:${secured.port}`,
              startup: 'wait',
              startupTimeoutMs: 5000,
            }),
          ],
        })
          .setLogger(new LogCapture())
          .compile()
          .then(
            () => new Error('compile() should have failed'),
            (reason: unknown) => reason as Error,
          );
        expect(error.message).toMatch(/refused the credentials/);
        expect(error.message).not.toContain('wrong-pw');
        expect(await secured.clientList()).toHaveLength(0);
      } finally {
        await secured.dispose();
      }
    });
  });

  it('gives a pool overridden in tests to its RedisService', async () => {
    const fake = new ConnectionPool({ url: server().url, clientName: unique('override') });
    const moduleRef = await Test.createTestingModule({
      imports: [RedisPoolModule.forRoot({ url: 'redis://127.0.0.1:1' })],
    })
      .overrideProvider(getPoolToken())
      .useValue(fake)
      .setLogger(new LogCapture())
      .compile();
    const app = moduleRef.createNestApplication();
    await app.init();
    expect(app.get(RedisService).pool).toBe(fake);
    expect(await app.get(RedisService).ping()).toBe('PONG');
    await app.close();
    expect(fake.closed).toBe(true);
  });
});
