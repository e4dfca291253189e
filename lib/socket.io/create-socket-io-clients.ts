import type { RedisService } from '../client/redis.service';
import { ConfigurationError } from '../errors/redis-pool.errors';
import { SocketIoRedisClient } from './socket-io-redis-client';
import type { SocketIoClientsOptions } from './socket-io.options';

/** What `createSocketIoClients()` returns: the two clients `createAdapter(pubClient, subClient)` takes. */
export interface SocketIoClients {
  /** Publishes (and answers `serverCount()`) on the pool's shared connections. */
  readonly pubClient: SocketIoRedisClient;
  /** Subscribes on a dedicated connection of its own, subscribed again after any connection loss. */
  readonly subClient: SocketIoRedisClient;
  /** `quit()` on both clients; the shared pool stays open. */
  close(): Promise<void>;
}

/**
 * The `{ pubClient, subClient }` pair for `@socket.io/redis-adapter` 8, over the app's `RedisService`:
 * `createAdapter(pubClient, subClient)` (classic pub/sub, on a single node or a cluster) and
 * `createShardedAdapter(pubClient, subClient)` (Redis 7 sharded pub/sub, made for a cluster) both accept it.
 *
 * ```ts
 * const { pubClient, subClient } = createSocketIoClients(redis);
 * io.adapter(createAdapter(pubClient, subClient));
 * ```
 *
 * @throws ConfigurationError when `redis` is not a `RedisService`, or for a bad option.
 */
export function createSocketIoClients(
  redis: RedisService,
  options: SocketIoClientsOptions = {},
): SocketIoClients {
  const candidate = redis as Partial<RedisService> | null | undefined;
  if (
    typeof candidate !== 'object' ||
    candidate === null ||
    typeof candidate.executeCommand !== 'function' ||
    typeof candidate.pool?.getConnection !== 'function'
  ) {
    throw new ConfigurationError(
      'createSocketIoClients(redis) needs the RedisService of a pool (inject it, or new RedisService(pool))',
    );
  }
  const pubClient = new SocketIoRedisClient(redis, options);
  const subClient = pubClient.duplicate();
  return {
    pubClient,
    subClient,
    close: () => Promise.all([pubClient.quit(), subClient.quit()]).then(() => undefined),
  };
}
