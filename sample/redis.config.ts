import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { RedisPoolFactoryOptions, RedisPoolOptionsFactory } from '../lib';

/** Where the sample looks for Redis when `REDIS_URL` is not set. */
export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

/** The name of the second pool, used for the cached lookups. */
export const CACHE_POOL = 'cache';

/** `REDIS_URL` from the environment (or a `.env` file), else the local default. */
export function redisUrlFrom(config: ConfigService): string {
  return config.get<string>('REDIS_URL') ?? DEFAULT_REDIS_URL;
}

/**
 * Options of the `cache` pool, written as a class (`forRootAsync({ useClass })`) to show the other style: it may
 * point at another server through `CACHE_REDIS_URL`, and keeps fewer connections.
 */
@Injectable()
export class CachePoolConfig implements RedisPoolOptionsFactory {
  constructor(private readonly config: ConfigService) {}

  createRedisPoolOptions(): RedisPoolFactoryOptions {
    return {
      url: this.config.get<string>('CACHE_REDIS_URL') ?? redisUrlFrom(this.config),
      clientName: 'sample-cache',
      maxConnections: 4,
    };
  }
}
