/**
 * `nestjs-redis-pool/testing`: a throwaway redis-server for an app's own tests (jest or vitest `globalSetup`).
 * Needs `redis-server` on `PATH`; loads nothing beyond Node's own modules and this package's protocol code.
 */
export { startTestRedis } from './start-test-redis';
export { TestRedisError, type TestRedisFailure } from './test-redis.errors';
export type { TestRedis, TestRedisOptions } from './test-redis.options';
