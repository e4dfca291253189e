import { inspect } from 'node:util';
import { Inject, Injectable, Module, type DynamicModule } from '@nestjs/common';
import { RedisService } from '../../lib/client/redis.service';
import { ClusterPool } from '../../lib/cluster/cluster-pool';
import { getRedisPoolOptionsToken, getRedisToken } from '../../lib/nest/redis.tokens';
import type {
  RedisPoolFactoryOptions,
  RedisPoolOptionsFactory,
} from '../../lib/nest/redis-pool.interfaces';
import { RedisPoolModule } from '../../lib/nest/redis-pool.module';
import { ProtectedRedisPoolOptions, protectOptions } from '../../lib/nest/redis-pool.options';
import { useRedisCluster, useRedisServer } from '../harness';
import { leakedPieces } from '../pool/url-secret-cases';
import { bootApp, closeApps, connectionsNamed } from './nest-helpers';

/** The password of the test server: every character a URL cares about, and distinctive 3-letter pieces. */
const PASSWORD = 'Sv3/Pw9?Qx#Zr@Nt&Ym%Lo';
const CLUSTER_PASSWORD = 'Cl4/Us7?Tr@Xa';

/** Every way a value could be shown without calling one of its getters. */
function views(value: unknown): string {
  return [
    inspect(value, { customInspect: false, showHidden: true, depth: 10 }),
    inspect(value, { showHidden: true, depth: 10 }),
    JSON.stringify(value),
    JSON.stringify({ ...(value as object) }),
    inspect({ ...(value as object) }, { customInspect: false, showHidden: true, depth: 10 }),
    Object.keys(value as object).join(','),
    Object.getOwnPropertyNames(value as object).join(','),
  ].join('\n');
}

describe('the options a registration keeps (RELIABILITY 18, 41)', () => {
  describe('ProtectedRedisPoolOptions', () => {
    const secret = {
      password: 'Ob5/Pk8?Mq',
      url: 'redis://:Ur6%2FLe9@h:1',
      tls: { passphrase: 'Tl7Ps3Kz', key: 'Ky4Pem8Wx' },
    };
    const options = protectOptions({ ...secret, clientName: 'app', db: 2, retry: { attempts: 1 } });

    it('shows none of its secrets when inspected, serialised, spread or listed', () => {
      const text = views(options);
      for (const value of ['Ob5/Pk8?Mq', 'Ur6%2FLe9', 'Ur6/Le9', 'Tl7Ps3Kz', 'Ky4Pem8Wx']) {
        expect(leakedPieces(text, value)).toEqual([]);
      }
      expect(Object.keys(options)).toEqual(['clientName', 'db', 'retry']);
      expect(JSON.parse(JSON.stringify(options))).toEqual({
        clientName: 'app',
        db: 2,
        retry: { attempts: 1 },
        url: 'redis://:****@h:1',
        password: '****',
        tls: true,
      });
    });

    it('is frozen, reads its non-secret options as plain properties and its secrets by getter', () => {
      expect(Object.isFrozen(options)).toBe(true);
      expect(() => {
        (options as unknown as { db: number }).db = 3;
      }).toThrow(TypeError);
      expect(options).toMatchObject({ clientName: 'app', db: 2, retry: { attempts: 1 } });
      expect(options.password).toBe(secret.password);
      expect(options.url).toBe(secret.url);
      expect(options.tls).toBe(secret.tls);
      expect(options.reveal()).toEqual({
        ...secret,
        clientName: 'app',
        db: 2,
        retry: { attempts: 1 },
      });
    });

    it('keeps the secrets of options that are already protected', () => {
      expect(protectOptions(options)).toBe(options);
      const copy = new ProtectedRedisPoolOptions(options);
      expect(copy.reveal()).toEqual(options.reveal());
    });
  });

  describe('with a password-protected server', () => {
    const server = useRedisServer({ password: PASSWORD });
    afterEach(closeApps);

    const CONFIG = 'SECRETS_CONFIG';
    @Module({
      providers: [{ provide: CONFIG, useFactory: () => ({ password: PASSWORD }) }],
      exports: [CONFIG],
    })
    class ConfigModule {}

    @Injectable()
    class PoolConfig implements RedisPoolOptionsFactory {
      constructor(@Inject(CONFIG) private readonly config: { password: string }) {}
      createRedisPoolOptions(): RedisPoolFactoryOptions {
        return {
          host: server().host,
          port: server().port,
          password: this.config.password,
          clientName: 'secret-class',
        };
      }
    }

    @Module({ imports: [ConfigModule], providers: [PoolConfig], exports: [PoolConfig] })
    class PoolConfigModule {}

    const styles: Array<[string, () => DynamicModule, string]> = [
      [
        'forRoot with a URL',
        () => RedisPoolModule.forRoot({ url: server().url, clientName: 'secret-url' }),
        'secret-url',
      ],
      [
        'forRoot with a password',
        () =>
          RedisPoolModule.forRoot({
            host: server().host,
            port: server().port,
            password: PASSWORD,
            clientName: 'secret-root',
            startup: 'wait',
          }),
        'secret-root',
      ],
      [
        'forRootAsync useFactory',
        () =>
          RedisPoolModule.forRootAsync({
            imports: [ConfigModule],
            inject: [CONFIG],
            useFactory: (config: { password: string }) => ({
              url: `redis://${server().host}:${server().port}`,
              password: config.password,
              clientName: 'secret-factory',
            }),
          }),
        'secret-factory',
      ],
      [
        'forRootAsync useClass',
        () => RedisPoolModule.forRootAsync({ imports: [ConfigModule], useClass: PoolConfig }),
        'secret-class',
      ],
      [
        'forRootAsync useExisting',
        () =>
          RedisPoolModule.forRootAsync({ imports: [PoolConfigModule], useExisting: PoolConfig }),
        'secret-class',
      ],
    ];

    it.each(styles)(
      '%s: authenticates, and the options provider shows no password',
      async (_style, register, clientName) => {
        const { app, logs } = await bootApp({ imports: [register()] });
        const redis = app.get<RedisService>(getRedisToken());
        expect(await redis.executeCommand('CLIENT', 'GETNAME')).toBe(clientName);
        // The password-protected server, not some other one, sees the pool's connections.
        expect(await connectionsNamed(server(), clientName)).toBeGreaterThan(0);
        const value = app.get<RedisPoolFactoryOptions>(getRedisPoolOptionsToken());
        expect(value).toBeInstanceOf(ProtectedRedisPoolOptions);
        expect(value.clientName).toBe(clientName);
        expect(leakedPieces(views(value), PASSWORD)).toEqual([]);
        expect(leakedPieces(inspect(value), PASSWORD)).toEqual([]);
        expect(leakedPieces(logs.text(), PASSWORD)).toEqual([]);
      },
    );
  });

  describe('in cluster mode', () => {
    const cluster = useRedisCluster({
      masters: 3,
      replicasPerMaster: 0,
      extraConfig: [`user alice on >${CLUSTER_PASSWORD} ~* &* +@all`],
    });
    afterEach(closeApps);

    it('authenticates every node as the ACL user, and the options provider shows no password', async () => {
      const { app, logs } = await bootApp({
        imports: [
          RedisPoolModule.forRootAsync({
            useFactory: () => ({
              cluster: { nodes: cluster().seeds().slice(0, 1) },
              username: 'alice',
              password: CLUSTER_PASSWORD,
              clientName: 'secret-cluster',
              startup: 'wait',
            }),
          }),
        ],
      });
      expect(app.get(ClusterPool)).toBeInstanceOf(ClusterPool);
      const redis = app.get(RedisService);
      for (const key of ['{a}k', '{b}k', '{c}k']) await redis.set(key, 'v');
      expect(await redis.get('{b}k')).toBe('v');
      expect(await redis.executeCommand('ACL', 'WHOAMI')).toBe('alice');
      for (const node of await cluster().masters()) {
        const ours = (await node.clientList()).filter((c) => c.name === 'secret-cluster');
        expect(ours.length).toBeGreaterThan(0);
        expect(ours.every((c) => c.user === 'alice')).toBe(true);
      }
      const value: unknown = app.get(getRedisPoolOptionsToken());
      expect(leakedPieces(views(value), CLUSTER_PASSWORD)).toEqual([]);
      expect(leakedPieces(logs.text(), CLUSTER_PASSWORD)).toEqual([]);
    });
  });
});
