import type { SocketLike } from './transport';

/**
 * Whether a socket keeps the Node process alive. A connection holds its process only while it has work
 * outstanding (commands queued or awaiting replies, the handshake, QUIT) or listens for messages (subscribed):
 * an idle pooled connection never keeps a script or a test run from exiting when nobody closed the pool, and a
 * pending command always does. `ref()`/`unref()` are called on changes only, not per command.
 */
export class SocketHold {
  /** Sockets start referenced. */
  private held = true;

  constructor(private readonly socket: SocketLike) {}

  /** Work was queued: the process stays alive until it is done. */
  hold(): void {
    if (this.held) return;
    this.held = true;
    this.socket.ref();
  }

  /** Nothing outstanding and nothing to listen for: the socket alone no longer keeps the process alive. */
  release(): void {
    if (!this.held) return;
    this.held = false;
    this.socket.unref();
  }
}
