import { RedisError } from '../errors/redis-pool.errors';

/**
 * A call on a socket.io client after its `quit()` / `disconnect()` / `destroy()`. The shared pool is untouched;
 * `duplicate()` gives a working client on it.
 */
export class SocketIoClientClosedError extends RedisError {}

/**
 * The connection layer no longer lets a subscriber connection decode pub/sub payloads as raw bytes (see
 * `decodeAllAsBuffers`). Raised at subscribe time rather than delivering mangled MessagePack.
 */
export class SocketIoUnsupportedError extends RedisError {}
