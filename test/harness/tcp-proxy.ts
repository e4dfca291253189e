import { connect, createServer, type Server, type Socket } from 'node:net';

import { LOOPBACK_HOST } from './free-port';

/** `pass` forwards bytes; `blackhole` keeps sockets open but silently drops everything. */
export type TcpProxyMode = 'pass' | 'blackhole';

/** Where a {@link TcpProxy} forwards to. */
export interface TcpProxyTarget {
  host: string;
  port: number;
}

interface Queued {
  due: number;
  deliver: () => void;
}

/**
 * One direction of one proxied connection. Delayed chunks go through a FIFO with a single
 * timer: separate timers per chunk could reorder bytes when the delay changes mid-stream.
 */
class Lane {
  readonly #queue: Queued[] = [];
  #timer: NodeJS.Timeout | undefined;

  enqueue(delayMs: number, deliver: () => void): void {
    if (delayMs <= 0 && this.#queue.length === 0) {
      deliver();
      return;
    }
    const last = this.#queue[this.#queue.length - 1];
    this.#queue.push({ due: Math.max(Date.now() + delayMs, last?.due ?? 0), deliver });
    this.#schedule();
  }

  clear(): void {
    this.#queue.length = 0;
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #schedule(): void {
    if (this.#timer !== undefined || this.#queue.length === 0) return;
    const wait = Math.max(0, this.#queue[0]!.due - Date.now());
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      while (this.#queue.length > 0 && this.#queue[0]!.due <= Date.now()) {
        this.#queue.shift()!.deliver();
      }
      this.#schedule();
    }, wait);
  }
}

interface Pair {
  client: Socket;
  upstream: Socket;
  toUpstream: Lane;
  toClient: Lane;
  /** Set by {@link TcpProxy.blackholeOpenConnections}: this connection alone drops everything. */
  blackholed: boolean;
}

/**
 * A loopback TCP proxy for fault injection between a client and a server: added latency,
 * black-holed connections (a silent network partition) and abrupt cuts.
 */
export class TcpProxy {
  /** Always loopback. */
  readonly host = LOOPBACK_HOST;
  /** The port clients should connect to. */
  readonly port: number;
  readonly #server: Server;
  readonly #target: TcpProxyTarget;
  readonly #pairs = new Set<Pair>();
  #mode: TcpProxyMode = 'pass';
  #delayMs = 0;

  /** Wraps a listening server; use {@link startTcpProxy}. */
  constructor(port: number, server: Server, target: TcpProxyTarget) {
    this.port = port;
    this.#server = server;
    this.#target = target;
  }

  /** Number of client connections currently open through the proxy. */
  get connectionCount(): number {
    let open = 0;
    for (const pair of this.#pairs) if (!pair.client.destroyed) open += 1;
    return open;
  }

  /** Current forwarding mode. */
  get mode(): TcpProxyMode {
    return this.#mode;
  }

  /**
   * Switches forwarding for existing and new connections. Bytes (and FINs) that arrive while
   * black-holed are dropped, not replayed later, exactly like a lossy partition.
   */
  setMode(mode: TcpProxyMode): void {
    this.#mode = mode;
  }

  /** Delays every chunk (both directions) by `ms`, keeping byte order. 0 disables. */
  setDelay(ms: number): void {
    this.#delayMs = Math.max(0, ms);
  }

  /**
   * Black-holes the connections open now, whatever the mode: their sockets stay open but every byte and FIN is
   * dropped, like a peer that died without a reset. Connections opened later are forwarded as usual, so a client
   * can replace the dead ones.
   */
  blackholeOpenConnections(): void {
    for (const pair of this.#pairs) pair.blackholed = true;
  }

  /** Destroys every client and upstream socket, as if the network dropped all connections. */
  cutAll(): void {
    for (const pair of [...this.#pairs]) this.#teardown(pair);
  }

  /** Cuts all connections and stops listening. */
  close(): Promise<void> {
    this.cutAll();
    return new Promise((resolve) => {
      if (!this.#server.listening) {
        resolve();
        return;
      }
      this.#server.close(() => resolve());
    });
  }

  /** @internal Bridges one accepted client socket to a new upstream connection. */
  accept(client: Socket): void {
    const upstream = connect({
      host: this.#target.host,
      port: this.#target.port,
      allowHalfOpen: true,
    });
    const pair: Pair = {
      client,
      upstream,
      toUpstream: new Lane(),
      toClient: new Lane(),
      blackholed: false,
    };
    this.#pairs.add(pair);
    // Resets are the point of this proxy; they must never surface as uncaught errors.
    client.on('error', () => undefined);
    upstream.on('error', () => undefined);
    this.#bridge(pair, client, upstream, pair.toUpstream);
    this.#bridge(pair, upstream, client, pair.toClient);
  }

  #bridge(pair: Pair, from: Socket, to: Socket, lane: Lane): void {
    const dropping = (): boolean => this.#mode === 'blackhole' || pair.blackholed;
    from.on('data', (chunk: Buffer) => {
      if (dropping()) return;
      lane.enqueue(this.#delayMs, () => {
        if (!dropping() && !to.destroyed) to.write(chunk);
      });
    });
    // Half-close travels in order behind the data, so a reply followed by FIN stays intact.
    from.on('end', () => {
      if (dropping()) return;
      lane.enqueue(this.#delayMs, () => {
        if (!dropping() && !to.destroyed) to.end();
      });
    });
    from.on('close', (hadError: boolean) => {
      if (pair.client.destroyed && pair.upstream.destroyed) {
        this.#teardown(pair);
        return;
      }
      // A partition hides closes too. Otherwise close the other side behind pending bytes:
      // gracefully (end flushes) unless this side died with an error, which becomes a reset.
      if (dropping()) return;
      lane.enqueue(this.#delayMs, () => {
        if (dropping() || to.destroyed) return;
        if (hadError) to.destroy();
        else to.end();
      });
    });
  }

  #teardown(pair: Pair): void {
    pair.toUpstream.clear();
    pair.toClient.clear();
    pair.client.destroy();
    pair.upstream.destroy();
    this.#pairs.delete(pair);
  }
}

/** Starts a {@link TcpProxy} on a free 127.0.0.1 port forwarding to `target`. */
export function startTcpProxy(target: TcpProxyTarget): Promise<TcpProxy> {
  return new Promise((resolve, reject) => {
    let proxy: TcpProxy | undefined;
    const server: Server = createServer({ allowHalfOpen: true }, (client) => {
      if (proxy) proxy.accept(client);
      else client.destroy();
    });
    server.once('error', reject);
    server.listen(0, LOOPBACK_HOST, () => {
      const address = server.address();
      if (address === null || typeof address === 'string') {
        server.close();
        reject(new Error('tcp-proxy: no TCP address'));
        return;
      }
      server.off('error', reject);
      server.on('error', () => undefined);
      proxy = new TcpProxy(address.port, server, { ...target });
      resolve(proxy);
    });
  });
}
