import type { Provider, Type } from '@nestjs/common';
import { ModulesContainer } from '@nestjs/core';
import { RedisService } from '../client/redis.service';
import { ClusterPool } from '../cluster/cluster-pool';
import { SentinelPool } from '../sentinel/sentinel-pool';
import { ConnectionPool } from '../pool/connection-pool';
import type { RedisPool } from '../pool/redis-pool.interface';
import { DEFAULT_POOL_NAME } from './redis.constants';
import { getPoolToken, getRedisPoolOptionsToken, getRedisToken } from './redis.tokens';
import type { RedisPoolFactoryOptions } from './redis-pool.interfaces';
import { RedisPoolLifecycle } from './redis-pool.lifecycle';
import { checkSingleRegistration } from './redis-pool.registry';
import { createRedisPool } from './redis-pool.startup';

/**
 * The providers of one registration, given its options provider (`getRedisPoolOptionsToken(name)`): the pool,
 * its `RedisService`, and the lifecycle that logs and closes it. The default pool also resolves by class.
 */
export function createRedisPoolProviders(name: string): Provider[] {
  const optionsToken = getRedisPoolOptionsToken(name);
  const poolToken = getPoolToken(name);
  const redisToken = getRedisToken(name);
  const providers: Provider[] = [
    {
      provide: poolToken,
      useFactory: (options: RedisPoolFactoryOptions, modules: ModulesContainer) => {
        checkSingleRegistration(name, modules);
        return createRedisPool(name, options);
      },
      inject: [optionsToken, ModulesContainer],
    },
    {
      provide: redisToken,
      useFactory: (pool: RedisPool) => new RedisService(pool),
      inject: [poolToken],
    },
    {
      // Not exported, so every registration has its own, private one.
      provide: RedisPoolLifecycle,
      useFactory: (pool: RedisPool, options: RedisPoolFactoryOptions) =>
        new RedisPoolLifecycle(name, pool, options),
      inject: [poolToken, optionsToken],
    },
  ];
  if (name === DEFAULT_POOL_NAME) {
    providers.push(
      { provide: RedisService, useExisting: redisToken },
      { provide: ConnectionPool, useExisting: poolToken },
      { provide: ClusterPool, useExisting: poolToken },
      { provide: SentinelPool, useExisting: poolToken },
    );
  }
  return providers;
}

/** What a registration exports: its pool and service tokens, and the classes for the default pool. */
export function createRedisPoolExports(name: string): Array<string | Type> {
  const tokens: Array<string | Type> = [getPoolToken(name), getRedisToken(name)];
  if (name === DEFAULT_POOL_NAME) {
    tokens.push(RedisService, ConnectionPool, ClusterPool, SentinelPool);
  }
  return tokens;
}
