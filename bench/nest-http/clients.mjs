// The three clients of bench/nest-http.mjs, each as its own Nest module hands it to an app: the module to import
// for a redis-server URL, the parameter decorator that injects the client, and the endpoint's five commands in
// that client's API. Everything else in the app (controller, handler, module shape) is shared; each client keeps
// its module's defaults (ours: a pool multiplexing up to 10 sockets; the peers: one connection each).
import { createRequire } from 'node:module';
import path from 'node:path';
import { root } from '../bench-kit.mjs';

const require = createRequire(import.meta.url);

export const OURS = 'nestjs-redis-pool';
export const IOREDIS = '@nestjs-modules/ioredis';
export const NODE_REDIS = '@nestjs-redis/client';
/** The same app with an in-memory stand-in for Redis: what Nest, Express and autocannon cost alone. */
export const NO_REDIS = 'ceiling (no Redis)';

/** The hash every request reads (HSET by the parent before each app starts). */
export const PROFILE = { name: 'bench', plan: 'pro', region: 'eu' };

/** Client name → () => { module(url), inject, commands(client) }; loaded only in the app process that needs it. */
export const CLIENTS = {
  [OURS]: () => {
    const { InjectRedis, RedisPoolModule } = require(path.join(root, 'dist/index.js'));
    return {
      module: (url) => RedisPoolModule.forRoot({ url }),
      inject: InjectRedis(),
      commands: (redis) => ({
        incr: (key) => redis.incr(key),
        setEx: (key, value, seconds) => redis.set(key, value, { ex: seconds }),
        get: (key) => redis.get(key),
        hgetall: (key) => redis.hgetall(key),
        expire: (key, seconds) => redis.expire(key, seconds),
      }),
    };
  },
  [IOREDIS]: () => {
    const { InjectRedis, RedisModule } = require('@nestjs-modules/ioredis');
    return {
      module: (url) => RedisModule.forRoot({ type: 'single', url }),
      inject: InjectRedis(),
      commands: (redis) => ({
        incr: (key) => redis.incr(key),
        setEx: (key, value, seconds) => redis.set(key, value, 'EX', seconds),
        get: (key) => redis.get(key),
        hgetall: (key) => redis.hgetall(key),
        expire: (key, seconds) => redis.expire(key, seconds),
      }),
    };
  },
  [NODE_REDIS]: () => {
    const { InjectRedis, RedisModule } = require('@nestjs-redis/client');
    return {
      module: (url) => RedisModule.forRoot({ options: { url } }),
      inject: InjectRedis(),
      commands: (redis) => ({
        incr: (key) => redis.incr(key),
        setEx: (key, value, seconds) =>
          redis.set(key, value, { expiration: { type: 'EX', value: seconds } }),
        get: (key) => redis.get(key),
        hgetall: (key) => redis.hGetAll(key),
        expire: (key, seconds) => redis.expire(key, seconds),
      }),
    };
  },
  [NO_REDIS]: () => {
    const { Inject, Module } = require('@nestjs/common');
    const TOKEN = 'BENCH_NO_REDIS';
    class MemoryModule {}
    const providers = [{ provide: TOKEN, useFactory: () => new Map() }];
    Reflect.decorate([Module({ providers, exports: [TOKEN] })], MemoryModule);
    return {
      module: () => MemoryModule,
      inject: Inject(TOKEN),
      commands: (map) => ({
        incr: async (key) => {
          map.set(key, (map.get(key) ?? 0) + 1);
          return map.get(key);
        },
        setEx: async (key, value) => map.set(key, value) && 'OK',
        get: async (key) => map.get(key) ?? null,
        hgetall: async () => ({ ...PROFILE }),
        expire: async () => 1,
      }),
    };
  },
};
