import * as net from 'node:net';
import { LOOPBACK_HOST } from '../harness';

const CR = 13;

/** The end (exclusive) of the RESP2/RESP3 frame starting at `at`, or -1 when it has not fully arrived. */
function frameEnd(buf: Buffer, at: number): number {
  const lineEnd = buf.indexOf('\r\n', at);
  if (lineEnd === -1) return -1;
  const type = String.fromCharCode(buf[at]);
  const header = buf.toString('latin1', at + 1, lineEnd);
  let pos = lineEnd + 2;
  switch (type) {
    case '$':
    case '!':
    case '=': {
      const n = Number(header);
      if (n < 0) return pos;
      return pos + n + 2 <= buf.length && buf[pos + n] === CR ? pos + n + 2 : -1;
    }
    case '*':
    case '~':
    case '>':
    case '%':
    case '|': {
      let n = Number(header);
      if (n < 0) return pos;
      if (type === '%' || type === '|') n *= 2;
      for (let i = 0; i < n; i++) {
        pos = frameEnd(buf, pos);
        if (pos === -1) return -1;
      }
      return pos;
    }
    default:
      return pos;
  }
}

/**
 * A proxy that reorders what one socket carries, to make the races of client-side caching happen on demand: it
 * can hold a server's replies while letting its RESP3 pushes through (a push overtakes the reply sent before it),
 * hold the pushes while replies pass (an invalidation arrives late), or hold what one client sends (its command
 * reaches the server after a later command of another connection).
 */
export class ReorderProxy {
  private holding = false;
  private readonly held: Array<{ socket: net.Socket; frame: Buffer }> = [];
  private onHeld: (() => void) | null = null;
  private holdingPushes = false;
  private readonly heldPushes: Array<{ socket: net.Socket; frame: Buffer }> = [];
  /** `true`: the next client to send is held; then that client. */
  private requestHold: net.Socket | boolean = false;
  private readonly heldRequests: Buffer[] = [];
  private heldUpstream: net.Socket | null = null;
  private onRequestHeld: (() => void) | null = null;
  private readonly sockets = new Set<net.Socket>();

  private constructor(private readonly server: net.Server) {}

  static async start(target: { host: string; port: number }): Promise<ReorderProxy> {
    const server = net.createServer();
    const proxy = new ReorderProxy(server);
    server.on('connection', (client) => proxy.accept(client, target));
    await new Promise<void>((resolve) => server.listen(0, LOOPBACK_HOST, resolve));
    return proxy;
  }

  get port(): number {
    return (this.server.address() as net.AddressInfo).port;
  }

  /** From now on replies (not pushes) are held until `release()`. */
  hold(): void {
    this.holding = true;
  }

  /** Resolves once at least one reply is held. */
  replyHeld(): Promise<void> {
    if (this.held.length > 0) return Promise.resolve();
    return new Promise((resolve) => (this.onHeld = resolve));
  }

  /** Sends the held replies, in order, and stops holding. */
  release(): void {
    this.holding = false;
    for (const { socket, frame } of this.held.splice(0)) socket.write(frame);
  }

  /** From now on pushes are held until `releasePushes()`; replies pass. */
  holdPushes(): void {
    this.holdingPushes = true;
  }

  releasePushes(): void {
    this.holdingPushes = false;
    for (const { socket, frame } of this.heldPushes.splice(0)) socket.write(frame);
  }

  /** Holds what the next client to send sends (and all it sends after) until `releaseRequests()`. */
  holdNextRequest(): Promise<void> {
    this.requestHold = true;
    return new Promise((resolve) => (this.onRequestHeld = resolve));
  }

  releaseRequests(): void {
    this.requestHold = false;
    for (const chunk of this.heldRequests.splice(0)) this.heldUpstream?.write(chunk);
    this.heldUpstream = null;
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise((resolve) => this.server.close(resolve));
  }

  private accept(client: net.Socket, target: { host: string; port: number }): void {
    const upstream = net.connect(target.port, target.host);
    this.sockets.add(client).add(upstream);
    client.on('data', (chunk: Buffer) => {
      if (this.requestHold === true) {
        this.requestHold = client;
        this.heldUpstream = upstream;
        this.onRequestHeld?.();
      }
      if (this.requestHold === client) this.heldRequests.push(chunk);
      else upstream.write(chunk);
    });
    let pending = Buffer.alloc(0);
    upstream.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      for (;;) {
        const end = pending.length === 0 ? -1 : frameEnd(pending, 0);
        if (end === -1) break;
        const frame = pending.subarray(0, end);
        pending = pending.subarray(end);
        if (this.holdingPushes && frame[0] === 0x3e) {
          this.heldPushes.push({ socket: client, frame: Buffer.from(frame) });
        } else if (this.holding && frame[0] !== 0x3e) {
          this.held.push({ socket: client, frame: Buffer.from(frame) });
          this.onHeld?.();
          this.onHeld = null;
        } else {
          client.write(frame);
        }
      }
    });
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('close', end).on('error', end);
    upstream.on('close', end).on('error', end);
  }
}
