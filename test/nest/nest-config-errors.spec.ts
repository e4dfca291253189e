import { Injectable, Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { ConfigurationError } from '../../lib/errors/redis-pool.errors';
import type { RedisPoolModuleOptions } from '../../lib/nest/redis-pool.interfaces';
import { RedisPoolModule } from '../../lib/nest/redis-pool.module';
import { useRedisServer } from '../harness';
import { LogCapture, connectionsNamed, sleep, unique } from './nest-helpers';

/** The error compiling (and initialising) an app with these imports fails with, or `undefined`. */
async function bootError(imports: NonNullable<Parameters<typeof Module>[0]['imports']>) {
  try {
    const moduleRef = await Test.createTestingModule({ imports })
      .setLogger(new LogCapture())
      .compile();
    await moduleRef.close();
    return undefined;
  } catch (error) {
    return error as Error;
  }
}

const loose = (options: Record<string, unknown>) => options as RedisPoolModuleOptions;

describe('RedisPoolModule options are checked at run time', () => {
  it('an unknown key is refused at forRoot(), naming the option meant', () => {
    expect(() => RedisPoolModule.forRoot(loose({ url: 'redis://h', maxConections: 2 }))).toThrow(
      new ConfigurationError(
        'Redis pool "default": unknown option `maxConections` (did you mean `maxConnections`?)',
      ),
    );
    expect(() => RedisPoolModule.forRoot(loose({ name: 'cache', startUp: 'wait' }))).toThrow(
      'Redis pool "cache": unknown option `startUp` (did you mean `startup`?)',
    );
    expect(() => RedisPoolModule.forRoot(loose({ isglobal: false }))).toThrow(
      'unknown option `isglobal` (did you mean `isGlobal`?)',
    );
  });

  it('checks the keys of the cluster and sentinel options too', () => {
    expect(() =>
      RedisPoolModule.forRoot(loose({ cluster: { nodes: [], readfrom: 'replica' } })),
    ).toThrow(
      'Redis pool "default": unknown option `cluster.readfrom` (did you mean `cluster.readFrom`?)',
    );
    expect(() =>
      RedisPoolModule.forRoot(
        loose({ name: 's', sentinel: { sentinels: [], masterName: 'm', sentinelPasword: 'x' } }),
      ),
    ).toThrow(
      'Redis pool "s": unknown option `sentinel.sentinelPasword` (did you mean `sentinel.sentinelPassword`?)',
    );
  });

  it('a factory result is checked the same way, and may not carry isGlobal', async () => {
    const typo = await bootError([
      RedisPoolModule.forRootAsync({
        name: 'jobs',
        useFactory: () => loose({ url: 'redis://h', comandTimeoutMs: 5 }),
      }),
    ]);
    expect(typo).toBeInstanceOf(ConfigurationError);
    expect(typo?.message).toBe(
      'Redis pool "jobs": unknown option `comandTimeoutMs` (did you mean `commandTimeoutMs`?)',
    );
    const global = await bootError([
      RedisPoolModule.forRootAsync({ useFactory: () => loose({ isGlobal: false }) }),
    ]);
    expect(global?.message).toMatch(
      /^Redis pool "default": isGlobal cannot come from a forRootAsync factory .*pass it to forRootAsync\(\{ isGlobal \}\)$/,
    );
  });

  it('puts the pool name in the errors of its values and its URL', async () => {
    const port = await bootError([
      RedisPoolModule.forRoot({ name: 'cache', port: '6391' as unknown as number }),
    ]);
    expect(port?.message).toBe(
      'Redis pool "cache": option port: "6391" (string) must be an integer from 1 to 65535 ' +
        '(environment variables are strings: convert it with Number())',
    );
    const url = await bootError([RedisPoolModule.forRoot({ name: 'cache', url: 'cache:6379' })]);
    expect(url).toBeInstanceOf(ConfigurationError);
    expect(url?.message).toBe(
      'Redis pool "cache": invalid Redis URL cache:6379: missing redis:// (or rediss://, unix://) at the start (write redis://cache:6379)',
    );
    const empty = await bootError([RedisPoolModule.forRoot({ name: 'cache', url: '' })]);
    expect(empty?.message).toMatch(/^Redis pool "cache": option url: "" \(string\) must be/);
    // The sentinel pool's own messages get the name in front too.
    const sentinel = await bootError([
      RedisPoolModule.forRoot({ name: 'ha', sentinel: { sentinels: [], masterName: 'm' } }),
    ]);
    expect(sentinel).toBeInstanceOf(ConfigurationError);
    expect(sentinel?.message).toMatch(/^Redis pool "ha": .*sentinel\.sentinels/);
  });
});

describe('one pool name registered twice', () => {
  const server = useRedisServer();

  it.each([
    [
      'forRoot twice',
      (clientName: string) => [
        RedisPoolModule.forRoot({ url: server().url, clientName, minIdle: 1 }),
        RedisPoolModule.forRoot({ url: server().url, clientName, minIdle: 1, maxConnections: 3 }),
      ],
      'default',
    ],
    [
      'forRoot and forRootAsync',
      (clientName: string) => [
        RedisPoolModule.forRoot({ name: 'cache', url: server().url, clientName, minIdle: 1 }),
        RedisPoolModule.forRootAsync({
          name: 'cache',
          useFactory: () => ({ url: server().url, clientName, minIdle: 1 }),
        }),
      ],
      'cache',
    ],
    [
      'forRoot in two feature modules',
      (clientName: string) => {
        const options = { name: 'cache', url: server().url, clientName, minIdle: 1 };
        @Module({ imports: [RedisPoolModule.forRoot(options)] })
        class PricesModule {}
        @Module({ imports: [RedisPoolModule.forRoot(options)] })
        class CartModule {}
        return [PricesModule, CartModule];
      },
      'cache',
    ],
  ])(
    '%s fails the boot with a clear error, before any pool connects',
    async (_how, imports, name) => {
      const clientName = unique('twice');
      const error = await bootError(imports(clientName));
      expect(error).toBeInstanceOf(ConfigurationError);
      expect(error?.message).toBe(
        `RedisPoolModule: pool "${name}" is registered 2 times (forRoot/forRootAsync with the same name); ` +
          'each name may be registered once. To share one pool between modules, register it once, either global ' +
          '(isGlobal: true, the default) or in one module that re-exports RedisPoolModule and that the others ' +
          'import; to open a second pool, give it another name.',
      );
      await sleep(200);
      expect(await connectionsNamed(server(), clientName)).toBe(0);
    },
  );

  it('one registration imported by several modules is not a duplicate', async () => {
    const shared = RedisPoolModule.forRoot({ name: 'cache', url: server().url, isGlobal: false });
    @Module({ imports: [shared], exports: [shared] })
    class CacheRedisModule {}
    @Injectable()
    class Marker {}
    @Module({ imports: [CacheRedisModule], providers: [Marker] })
    class PricesModule {}
    @Module({ imports: [CacheRedisModule, shared] })
    class CartModule {}
    expect(await bootError([PricesModule, CartModule])).toBeUndefined();
  });
});
