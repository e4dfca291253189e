import { randomUUID } from 'node:crypto';
import { Module, type DynamicModule, type Provider } from '@nestjs/common';
import { ConfigurationError } from '../errors/redis-pool.errors';
import { DEFAULT_POOL_NAME } from './redis.constants';
import { REDIS_POOL_REGISTRATION_ID, getRedisPoolOptionsToken } from './redis.tokens';
import type {
  RedisPoolFactoryOptions,
  RedisPoolModuleAsyncOptions,
  RedisPoolModuleOptions,
  RedisPoolOptionsFactory,
} from './redis-pool.interfaces';
import { createRedisPoolExports, createRedisPoolProviders } from './redis-pool.providers';
import { protectOptions } from './redis-pool.options';
import { checkModuleOptions, checkPoolName } from './redis-pool.checks';

/**
 * Provides a pooled Redis connection: one `ConnectionPool` per name, shared by every module that injects it, and
 * a `RedisService` wrapping it.
 *
 * @example
 * ```ts
 * @Module({ imports: [RedisPoolModule.forRoot({ url: process.env.REDIS_URL })] })
 * export class AppModule {}
 * ```
 */
@Module({})
export class RedisPoolModule {
  /**
   * Registers a pool from static options. The module keeps a protected copy of them (see
   * `ProtectedRedisPoolOptions`): inspecting, spreading or serialising it never shows a password.
   */
  static forRoot(options: RedisPoolModuleOptions = {}): DynamicModule {
    const name = checkPoolName(options.name ?? DEFAULT_POOL_NAME);
    checkModuleOptions(options, name);
    return {
      module: RedisPoolModule,
      global: options.isGlobal ?? true,
      providers: [
        { provide: getRedisPoolOptionsToken(name), useValue: protectOptions(options) },
        ...createRedisPoolProviders(name),
      ],
      exports: createRedisPoolExports(name),
    };
  }

  /**
   * Registers a pool whose options come from a factory, a class or an existing provider, e.g. from
   * `ConfigService`. Each call is its own registration: several never merge, even with look-alike factories.
   */
  static forRootAsync(options: RedisPoolModuleAsyncOptions): DynamicModule {
    const name = checkPoolName(options.name ?? DEFAULT_POOL_NAME);
    return {
      module: RedisPoolModule,
      global: options.isGlobal ?? true,
      imports: options.imports ?? [],
      providers: [
        { provide: REDIS_POOL_REGISTRATION_ID, useValue: randomUUID() },
        ...createAsyncOptionsProviders(name, options),
        ...createRedisPoolProviders(name),
        ...(options.extraProviders ?? []),
      ],
      exports: createRedisPoolExports(name),
    };
  }
}

function createAsyncOptionsProviders(
  name: string,
  options: RedisPoolModuleAsyncOptions,
): Provider[] {
  const provide = getRedisPoolOptionsToken(name);
  const styles = [options.useFactory, options.useClass, options.useExisting].filter(
    (style) => style !== undefined,
  );
  if (styles.length !== 1) {
    throw new ConfigurationError(
      `RedisPoolModule.forRootAsync (pool "${name}") needs exactly one of useFactory, useClass or useExisting`,
    );
  }
  const checked = (result: RedisPoolFactoryOptions): RedisPoolFactoryOptions => {
    checkModuleOptions(result, name, true);
    return protectOptions(result);
  };
  if (options.useFactory !== undefined) {
    const factory = options.useFactory as (
      ...args: unknown[]
    ) => RedisPoolFactoryOptions | Promise<RedisPoolFactoryOptions>;
    return [
      {
        provide,
        useFactory: async (...args: unknown[]) => checked(await factory(...args)),
        inject: options.inject ?? [],
      },
    ];
  }
  const fromFactory = async (factory: RedisPoolOptionsFactory) =>
    checked(await factory.createRedisPoolOptions());
  if (options.useClass !== undefined) {
    return [
      { provide: options.useClass, useClass: options.useClass },
      { provide, useFactory: fromFactory, inject: [options.useClass] },
    ];
  }
  return [
    {
      provide,
      useFactory: fromFactory,
      inject: [options.useExisting as NonNullable<typeof options.useExisting>],
    },
  ];
}
