import { Inject } from '@nestjs/common';
import { getPoolToken, getRedisToken } from './redis.tokens';

/**
 * Injects the `RedisService` of the pool called `name`.
 * @param name the pool's name. @default 'default'
 * @example constructor(@InjectRedis() private readonly redis: RedisService) {}
 */
export function InjectRedis(name?: string): PropertyDecorator & ParameterDecorator {
  return Inject(getRedisToken(name));
}

/**
 * Injects the `ConnectionPool` called `name` (type it as `ConnectionPool`, or `RedisPool` to stay cluster-ready).
 * @param name the pool's name. @default 'default'
 * @example constructor(@InjectPool('cache') private readonly pool: ConnectionPool) {}
 */
export function InjectPool(name?: string): PropertyDecorator & ParameterDecorator {
  return Inject(getPoolToken(name));
}
