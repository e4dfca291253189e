/**
 * `nestjs-redis-pool/socket.io`: the Redis clients `@socket.io/redis-adapter` 8 takes, over the app's own pool.
 * A separate entry point that loads nothing but this package: the adapter (an optional peer) is the app's to
 * import, and it is handed these clients.
 */
export { createSocketIoClients, type SocketIoClients } from './create-socket-io-clients';
export { SocketIoRedisClient } from './socket-io-redis-client';
export {
  SOCKET_IO_CLIENTS_DEFAULTS,
  type ResolvedSocketIoClientsOptions,
  type SocketIoClientsOptions,
} from './socket-io.options';
export { SocketIoClientClosedError } from './socket-io.errors';
export type { BufferListener, TextListener } from './subscription-registry';
