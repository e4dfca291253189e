import { RedisError } from '../errors/redis-pool.errors';

/**
 * A call on a socket.io client after its `quit()` / `disconnect()` / `destroy()`. The shared pool is untouched;
 * `duplicate()` gives a working client on it.
 */
export class SocketIoClientClosedError extends RedisError {}
