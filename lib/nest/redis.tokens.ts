import { DEFAULT_POOL_NAME } from './redis.constants';

/*
 * Every injection token of the module is built here and only here. They are strings so that they read well in
 * Nest's error messages and can be rebuilt by any copy of the package.
 */
const PREFIX = 'nestjs-redis-pool';

/**
 * Injection token of the `RedisService` of the pool called `name`; for `@Inject(...)`, `inject: [...]` in
 * factories, and `overrideProvider(...)` in tests. For the default pool, `RedisService` (the class) resolves too.
 * @param name the pool's name. @default 'default'
 */
export function getRedisToken(name: string = DEFAULT_POOL_NAME): string {
  return `${PREFIX}:RedisService:${name}`;
}

/**
 * Injection token of the `ConnectionPool` called `name` (typed as `RedisPool`). For the default pool,
 * `ConnectionPool` (the class) resolves too.
 * @param name the pool's name. @default 'default'
 */
export function getPoolToken(name: string = DEFAULT_POOL_NAME): string {
  return `${PREFIX}:ConnectionPool:${name}`;
}

/** The pool name a token from `getPoolToken(name)` holds, or `undefined` for any other token. */
export function poolNameOfToken(token: unknown): string | undefined {
  const prefix = getPoolToken('');
  return typeof token === 'string' && token.startsWith(prefix)
    ? token.slice(prefix.length)
    : undefined;
}

/**
 * Injection token of the resolved module options of the pool called `name`. Each registration has its own, so
 * several `forRootAsync` registrations never share or overwrite each other's options.
 * @param name the pool's name. @default 'default'
 */
export function getRedisPoolOptionsToken(name: string = DEFAULT_POOL_NAME): string {
  return `${PREFIX}:RedisPoolModuleOptions:${name}`;
}

/**
 * Token of a provider holding a fresh random id per `forRootAsync()` call. Nest identifies dynamic modules by a
 * hash of their metadata in which functions count by source text, so two async registrations with look-alike
 * factories would otherwise be merged into one.
 */
export const REDIS_POOL_REGISTRATION_ID = `${PREFIX}:registration-id`;
