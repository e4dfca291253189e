import {
  Controller,
  Get,
  Inject,
  Injectable,
  Module,
  Param,
  type INestApplication,
  type Type,
} from '@nestjs/common';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import { RedisService } from '../../lib/client/redis.service';
import { ConfigurationError } from '../../lib/errors/redis-pool.errors';
import { ConnectionPool } from '../../lib/pool/connection-pool';
import type { RedisPool } from '../../lib/pool/redis-pool.interface';
import { InjectPool, InjectRedis } from '../../lib/nest/redis.decorators';
import { getPoolToken, getRedisToken } from '../../lib/nest/redis.tokens';
import type {
  RedisPoolFactoryOptions,
  RedisPoolOptionsFactory,
} from '../../lib/nest/redis-pool.interfaces';
import { RedisPoolModule } from '../../lib/nest/redis-pool.module';
import { useRedisServer } from '../harness';
import { LogCapture, bootApp, closeApp, closeApps, connectionsNamed, unique } from './nest-helpers';

/** A controller on the pool called `name`: GET /<name>/incr/:key and /<name>/db. */
function counterController(name?: string): Type {
  @Controller(name ?? 'default')
  class CounterController {
    constructor(@InjectRedis(name) private readonly redis: RedisService) {}

    @Get('incr/:key')
    async incr(@Param('key') key: string): Promise<{ value: number }> {
      return { value: Number(await this.redis.incr(key)) };
    }

    @Get('client')
    async client(): Promise<{ name: unknown }> {
      return { name: await this.redis.executeCommand('CLIENT', 'GETNAME') };
    }
  }
  return CounterController;
}

async function incr(app: INestApplication, path: string): Promise<number> {
  const response = await request(app.getHttpServer()).get(path).expect(200);
  return (response.body as { value: number }).value;
}

describe('RedisPoolModule', () => {
  const server = useRedisServer();
  afterEach(closeApps);

  describe('forRoot', () => {
    it('serves HTTP requests through @InjectRedis() and resolves the default pool by token and by class', async () => {
      const clientName = unique('forroot');
      const { app } = await bootApp({
        imports: [RedisPoolModule.forRoot({ url: server().url, clientName })],
        controllers: [counterController()],
      });
      const key = unique('k');
      expect(await incr(app, `/default/incr/${key}`)).toBe(1);
      expect(await incr(app, `/default/incr/${key}`)).toBe(2);
      expect(await server().cli('GET', key)).toBe('2');

      const redis = app.get<RedisService>(getRedisToken());
      const pool = app.get<ConnectionPool>(getPoolToken());
      expect(redis).toBeInstanceOf(RedisService);
      expect(pool).toBeInstanceOf(ConnectionPool);
      expect(app.get(RedisService)).toBe(redis);
      expect(app.get(ConnectionPool)).toBe(pool);
      expect(redis.pool).toBe(pool);
      expect(getRedisToken('default')).toBe(getRedisToken());
      expect(await connectionsNamed(server(), clientName)).toBeGreaterThanOrEqual(1);
    });

    it('rejects bad module options when registering, with a clear error', () => {
      expect(() => RedisPoolModule.forRoot({ startup: 'eager' as unknown as 'lazy' })).toThrow(
        ConfigurationError,
      );
      expect(() => RedisPoolModule.forRoot({ startupTimeoutMs: -1 })).toThrow(/startupTimeoutMs/);
      expect(() => RedisPoolModule.forRoot({ name: '' })).toThrow(/non-empty/);
      expect(() =>
        RedisPoolModule.forRoot({
          url: 'redis://127.0.0.1:7000',
          cluster: { nodes: [{ host: '127.0.0.1', port: 7000 }] },
        }),
      ).toThrow(/sets cluster together with url; list every seed in cluster.nodes/);
    });

    it('fails the boot on an invalid URL without showing its password', async () => {
      const compiling = Test.createTestingModule({
        imports: [RedisPoolModule.forRoot({ url: 'redis://:hunter2@127.0.0.1:6379?bogus=1' })],
      })
        .setLogger(new LogCapture())
        .compile();
      await expect(compiling).rejects.toThrow(ConfigurationError);
      await expect(compiling).rejects.not.toThrow(/hunter2/);
    });
  });

  describe('forRootAsync', () => {
    const CONFIG = 'TEST_CONFIG';

    @Module({
      providers: [{ provide: CONFIG, useFactory: () => ({ url: server().url }) }],
      exports: [CONFIG],
    })
    class ConfigModule {}

    @Injectable()
    class PoolConfig implements RedisPoolOptionsFactory {
      constructor(@Inject(CONFIG) private readonly config: { url: string }) {}
      createRedisPoolOptions(): Promise<RedisPoolFactoryOptions> {
        return Promise.resolve({ url: this.config.url, clientName: 'async-class' });
      }
    }

    @Module({ imports: [ConfigModule], providers: [PoolConfig], exports: [PoolConfig] })
    class PoolConfigModule {}

    const styles: Array<[string, () => ReturnType<typeof RedisPoolModule.forRootAsync>, string]> = [
      [
        'useFactory with imports and inject',
        () =>
          RedisPoolModule.forRootAsync({
            imports: [ConfigModule],
            inject: [CONFIG],
            useFactory: async (config: { url: string }) => ({
              url: config.url,
              clientName: 'async-factory',
            }),
          }),
        'async-factory',
      ],
      [
        'useClass',
        () => RedisPoolModule.forRootAsync({ imports: [ConfigModule], useClass: PoolConfig }),
        'async-class',
      ],
      [
        'useExisting',
        () =>
          RedisPoolModule.forRootAsync({ imports: [PoolConfigModule], useExisting: PoolConfig }),
        'async-class',
      ],
      [
        'useFactory with extraProviders',
        () =>
          RedisPoolModule.forRootAsync({
            extraProviders: [{ provide: 'CLIENT_NAME', useValue: 'async-extra' }],
            inject: ['CLIENT_NAME'],
            useFactory: (clientName: string) => ({ url: server().url, clientName }),
          }),
        'async-extra',
      ],
    ];

    it.each(styles)('%s', async (_style, register, clientName) => {
      const { app } = await bootApp({
        imports: [register()],
        controllers: [counterController()],
      });
      expect(await incr(app, `/default/incr/${unique('async')}`)).toBe(1);
      const response = await request(app.getHttpServer()).get('/default/client').expect(200);
      expect(response.body).toEqual({ name: clientName });
      expect(app.get(RedisService)).toBe(app.get(getRedisToken()));
    });

    it('needs exactly one of useFactory, useClass, useExisting', () => {
      expect(() => RedisPoolModule.forRootAsync({})).toThrow(/exactly one of/);
      expect(() =>
        RedisPoolModule.forRootAsync({ useClass: PoolConfig, useExisting: PoolConfig }),
      ).toThrow(ConfigurationError);
    });

    it('fails the boot when the factory names another pool', async () => {
      const compiling = Test.createTestingModule({
        imports: [
          RedisPoolModule.forRootAsync({
            name: 'one',
            useFactory: () => ({ url: server().url, name: 'two' }) as RedisPoolFactoryOptions,
          }),
        ],
      })
        .setLogger(new LogCapture())
        .compile();
      await expect(compiling).rejects.toThrow(/differs from the registration's name "one"/);
    });
  });

  describe('named pools', () => {
    /** Look-alike registrations: the same factory source text, different captured values. */
    const register = (name: string, db: number) =>
      RedisPoolModule.forRootAsync({
        name,
        useFactory: () => ({ url: server().url, db, clientName: `named-${name}` }),
      });

    it('runs two named pools side by side without merging them', async () => {
      const { app } = await bootApp({
        imports: [register('alpha', 1), register('beta', 2)],
        controllers: [counterController('alpha'), counterController('beta')],
      });
      const key = unique('named');
      expect(await incr(app, `/alpha/incr/${key}`)).toBe(1);
      expect(await incr(app, `/alpha/incr/${key}`)).toBe(2);
      expect(await incr(app, `/beta/incr/${key}`)).toBe(1);
      expect(await server().cli('-n', '1', 'GET', key)).toBe('2');
      expect(await server().cli('-n', '2', 'GET', key)).toBe('1');

      const alpha = app.get<ConnectionPool>(getPoolToken('alpha'));
      const beta = app.get<ConnectionPool>(getPoolToken('beta'));
      expect(alpha).toBeInstanceOf(ConnectionPool);
      expect(beta).toBeInstanceOf(ConnectionPool);
      expect(alpha).not.toBe(beta);
      expect(app.get<RedisService>(getRedisToken('beta')).pool).toBe(beta);
      // No default registration, so nothing resolves by class.
      expect(() => app.get(RedisService)).toThrow();
      expect(await connectionsNamed(server(), 'named-alpha')).toBeGreaterThanOrEqual(1);
      expect(await connectionsNamed(server(), 'named-beta')).toBeGreaterThanOrEqual(1);
    });

    it('mixes a sync default pool and an async named pool', async () => {
      const { app } = await bootApp({
        imports: [RedisPoolModule.forRoot({ url: server().url, db: 3 }), register('gamma', 4)],
        controllers: [counterController(), counterController('gamma')],
      });
      const key = unique('mixed');
      expect(await incr(app, `/default/incr/${key}`)).toBe(1);
      expect(await incr(app, `/gamma/incr/${key}`)).toBe(1);
      expect(await server().cli('-n', '3', 'GET', key)).toBe('1');
      expect(await server().cli('-n', '4', 'GET', key)).toBe('1');
      expect(app.get(ConnectionPool)).toBe(app.get(getPoolToken()));
      expect(app.get(ConnectionPool)).not.toBe(app.get(getPoolToken('gamma')));
    });
  });

  describe('sharing', () => {
    @Injectable()
    class UsersService {
      constructor(
        @InjectRedis() readonly redis: RedisService,
        @InjectPool() readonly pool: RedisPool,
      ) {}
    }
    @Module({ providers: [UsersService], exports: [UsersService] })
    class UsersModule {}

    @Injectable()
    class OrdersService {
      constructor(
        readonly redis: RedisService,
        @InjectPool() readonly pool: RedisPool,
      ) {}
    }
    @Module({ providers: [OrdersService], exports: [OrdersService] })
    class OrdersModule {}

    it('gives two feature modules the very same pool (global by default)', async () => {
      const { app } = await bootApp({
        imports: [RedisPoolModule.forRoot({ url: server().url }), UsersModule, OrdersModule],
        controllers: [counterController()],
      });
      const users = app.get(UsersService);
      const orders = app.get(OrdersService);
      expect(users.pool).toBe(orders.pool);
      expect(users.redis).toBe(orders.redis);
      expect(users.redis.pool).toBe(users.pool);
      expect(users.pool).toBe(app.get(getPoolToken()));
      const key = unique('shared');
      await users.redis.incr(key);
      await orders.redis.incr(key);
      expect(await incr(app, `/default/incr/${key}`)).toBe(3);
    });

    it('with isGlobal: false, exports the pool to importers only', async () => {
      const local = RedisPoolModule.forRoot({ url: server().url, isGlobal: false });

      @Module({ imports: [local], exports: [local] })
      class SharedRedisModule {}
      @Module({ imports: [SharedRedisModule], providers: [UsersService], exports: [UsersService] })
      class LocalUsersModule {}
      @Module({
        imports: [SharedRedisModule],
        providers: [OrdersService],
        exports: [OrdersService],
      })
      class LocalOrdersModule {}

      const { app } = await bootApp({ imports: [LocalUsersModule, LocalOrdersModule] });
      expect(app.get(UsersService).pool).toBe(app.get(OrdersService).pool);
      expect(await app.get(UsersService).redis.ping()).toBe('PONG');

      // A module that does not import it cannot inject it.
      @Module({ providers: [OrdersService] })
      class OutsiderModule {}
      const compiling = Test.createTestingModule({
        imports: [RedisPoolModule.forRoot({ url: server().url, isGlobal: false }), OutsiderModule],
      })
        .setLogger(new LogCapture())
        .compile();
      await expect(compiling).rejects.toThrow(/RedisService/);
    });

    it('keeps each app its own pool: closing one leaves the other working', async () => {
      const [a, b] = [unique('app-a'), unique('app-b')];
      const first = await bootApp({
        imports: [RedisPoolModule.forRoot({ url: server().url, clientName: a })],
        controllers: [counterController()],
      });
      const second = await bootApp({
        imports: [RedisPoolModule.forRoot({ url: server().url, clientName: b })],
        controllers: [counterController()],
      });
      const key = unique('own');
      await incr(first.app, `/default/incr/${key}`);
      await incr(second.app, `/default/incr/${key}`);
      expect(await connectionsNamed(server(), a)).toBeGreaterThanOrEqual(1);
      await closeApp(first.app);
      expect(await connectionsNamed(server(), a)).toBe(0);
      expect(await connectionsNamed(server(), b)).toBeGreaterThanOrEqual(1);
      expect(await incr(second.app, `/default/incr/${key}`)).toBe(3);
    });
  });
});
