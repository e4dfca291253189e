import { connect, createServer, type Server, type Socket } from 'node:net';

import { LOOPBACK_HOST } from './free-port';

/** Where a {@link ChaosProxy} forwards to. */
export interface ChaosProxyTarget {
  host: string;
  port: number;
}

/**
 * What a {@link ChaosProxy} does to the bytes. Every decision is drawn from a PRNG seeded with `seed`, the
 * connection's number (1 for the first accepted) and its direction, and is made at a byte offset of that
 * direction's stream, never per chunk: the same seed cuts connection n at the same offsets and splits and pauses
 * it at the same places however TCP happened to chunk the traffic.
 */
export interface ChaosProxyOptions {
  target: ChaosProxyTarget;
  /** The PRNG seed; name it in test output so a failure can be replayed. */
  seed: number;
  /**
   * How long the chaos lasts after start; the proxy then forwards cleanly (bytes already queued still go out in
   * order). Between 1 ms and 15 minutes.
   */
  durationMs: number;
  /**
   * Each direction is cut into segments, each delivered in a macrotask of its own (and `setNoDelay`), so the
   * receiver sees them as separate reads. Share of 1-byte segments.
   * @default 0.2
   */
  oneByteShare?: number;
  /**
   * Share of 2..32-byte segments; the rest are 33..`maxSegmentBytes`.
   * @default 0.4
   */
  smallShare?: number;
  /** @default 4096 */
  maxSegmentBytes?: number;
  /**
   * Share of segments that wait 1..`maxDelayMs` ms before their first byte (and everything behind them waits too).
   * @default 0.1
   */
  delayShare?: number;
  /** @default 8 */
  maxDelayMs?: number;
  /**
   * Share of segments preceded by a long stall of `stallMs` (meant to exceed a command timeout).
   * @default 0
   */
  stallShare?: number;
  /** @default [1000, 1500] */
  stallMs?: [number, number];
  /**
   * Each direction of each connection is cut (both sockets destroyed, whatever is queued in the other direction
   * dropped) after a uniform number of bytes in this range, the bytes before the offset still delivered. `null`
   * never cuts.
   * @default [2048, 65536]
   */
  cutBytes?: [number, number] | null;
  /**
   * Share of directions cut within their first `earlyCutBytes` instead (it hits handshakes).
   * @default 0.05
   */
  earlyCutShare?: number;
  /** @default 160 */
  earlyCutBytes?: number;
  /**
   * A direction holding more than this many bytes queued pauses its sender until half of it went out.
   * @default 1048576
   */
  highWaterBytes?: number;
  /** Keep the first this many decisions (segments and cuts) in {@link ChaosProxy.trace}. @default 0 */
  traceLimit?: number;
}

/** What a {@link ChaosProxy} did so far. */
export interface ChaosStats {
  /** Client connections accepted. */
  connections: number;
  /** Cuts decided in the client → server direction and carried out. */
  cutsToServer: number;
  /** Cuts decided in the server → client direction and carried out. */
  cutsToClient: number;
  /** Chunks read from a socket and forwarded in more than one piece. */
  splitChunks: number;
  /** Pieces written (a chunk that was not split is one piece). */
  pieces: number;
  /** Of them, 1-byte pieces. */
  oneBytePieces: number;
  /** Segments delayed by 1..maxDelayMs. */
  delayedSegments: number;
  /** Segments behind a long stall. */
  stalls: number;
  bytesToServer: number;
  bytesToClient: number;
}

const MAX_DURATION_MS = 15 * 60_000;
const MAX_STALL_MS = 30_000;

/** mulberry32: small, fast, deterministic. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** An integer in [min, max]. */
function between(rng: () => number, min: number, max: number): number {
  return min + Math.floor(rng() * (max - min + 1));
}

/** One seed per connection and direction (a murmur3 finaliser over the three). */
function laneSeed(seed: number, connection: number, direction: number): number {
  let h = (seed ^ Math.imul(connection, 0x9e3779b1) ^ Math.imul(direction + 1, 0x85ebca6b)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d);
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b);
  return (h ^ (h >>> 16)) >>> 0;
}

type Settings = Required<Omit<ChaosProxyOptions, 'target' | 'seed' | 'durationMs' | 'cutBytes'>> & {
  cutBytes: [number, number] | null;
};

interface Entry {
  due: number;
  /** Bytes to write, or an action (end, destroy, cut) that runs in order behind them. */
  bytes?: Buffer;
  action?: () => void;
  /** The first piece of a chunk: may go out in the same macrotask as the entry before it. */
  first: boolean;
}

/**
 * One direction of one connection: a FIFO of pieces and actions with one timer, so bytes never overtake each
 * other whatever their delays. The chaos decisions (segments, pauses, the cut offset) are drawn here.
 */
class Lane {
  readonly #queue: Entry[] = [];
  #head = 0;
  #lastDue = 0;
  #queuedBytes = 0;
  #timer: NodeJS.Timeout | undefined;
  #immediate: NodeJS.Immediate | undefined;
  #paused = false;
  /** Bytes of this direction seen so far. */
  #passed = 0;
  #segmentLeft = 0;
  readonly #cutAt: number;
  readonly #rng: () => number;

  constructor(
    readonly name: string,
    readonly from: Socket,
    readonly to: Socket,
    private readonly settings: Settings,
    private readonly stats: ChaosStats,
    private readonly trace: (line: string) => void,
    seed: number,
    readonly towardServer: boolean,
  ) {
    this.#rng = seededRandom(seed);
    const { cutBytes, earlyCutShare, earlyCutBytes } = settings;
    // Drawn first, so the cut offset of a connection does not depend on how much it sent.
    const early = this.#rng() < earlyCutShare;
    const offset = early
      ? between(this.#rng, 1, earlyCutBytes)
      : cutBytes === null
        ? Infinity
        : between(this.#rng, cutBytes[0], cutBytes[1]);
    this.#cutAt = cutBytes === null && !early ? Infinity : offset;
  }

  get idle(): boolean {
    return this.#head === this.#queue.length;
  }

  /**
   * Cuts `chunk` into pieces at the segment boundaries that fall inside it. Returns whether the cut offset was
   * reached (the pieces before it are queued).
   */
  forwardChaotic(chunk: Buffer): boolean {
    let offset = 0;
    let pieces = 0;
    let cut = false;
    while (offset < chunk.length) {
      let delay = 0;
      if (this.#segmentLeft === 0) delay = this.#nextSegment();
      const take = Math.min(chunk.length - offset, this.#segmentLeft, this.#cutAt - this.#passed);
      this.#push(chunk.subarray(offset, offset + take), delay, pieces === 0);
      pieces++;
      offset += take;
      this.#passed += take;
      this.#segmentLeft -= take;
      if (this.#passed >= this.#cutAt) {
        cut = true;
        break;
      }
    }
    if (pieces > 1) this.stats.splitChunks++;
    return cut;
  }

  /** Queues `chunk` whole, behind whatever is queued. */
  forwardClean(chunk: Buffer): void {
    this.#passed += chunk.length;
    if (this.idle) {
      this.#write(chunk);
      return;
    }
    this.#push(chunk, 0, true);
  }

  /** Runs `action` in order behind the queued bytes. */
  then(action: () => void): void {
    if (this.idle) {
      action();
      return;
    }
    this.#enqueue({ due: Math.max(Date.now(), this.#lastDue), action, first: false });
  }

  clear(): void {
    this.#queue.length = 0;
    this.#head = 0;
    this.#queuedBytes = 0;
    clearTimeout(this.#timer);
    if (this.#immediate !== undefined) clearImmediate(this.#immediate);
    this.#timer = undefined;
    this.#immediate = undefined;
  }

  #nextSegment(): number {
    const s = this.settings;
    const r = this.#rng();
    const length =
      r < s.oneByteShare
        ? 1
        : r < s.oneByteShare + s.smallShare
          ? between(this.#rng, 2, 32)
          : between(this.#rng, 33, Math.max(33, s.maxSegmentBytes));
    const d = this.#rng();
    let delay = 0;
    if (d < s.stallShare) {
      delay = between(this.#rng, s.stallMs[0], s.stallMs[1]);
      this.stats.stalls++;
    } else if (d < s.stallShare + s.delayShare) {
      delay = between(this.#rng, 1, s.maxDelayMs);
      this.stats.delayedSegments++;
    }
    this.#segmentLeft = length;
    this.trace(`${this.name} @${this.#passed} +${length}${delay > 0 ? ` wait ${delay}` : ''}`);
    return delay;
  }

  /** The offset this direction is cut at (Infinity: never), for the trace. */
  get cutAt(): number {
    return this.#cutAt;
  }

  #push(bytes: Buffer, delay: number, first: boolean): void {
    this.#queuedBytes += bytes.length;
    this.#enqueue({ due: Math.max(Date.now() + delay, this.#lastDue), bytes, first });
    if (!this.#paused && this.#queuedBytes > this.settings.highWaterBytes) {
      this.#paused = true;
      this.from.pause();
    }
  }

  #enqueue(entry: Entry): void {
    this.#lastDue = entry.due;
    this.#queue.push(entry);
    this.#schedule();
  }

  #schedule(): void {
    if (this.#timer !== undefined || this.#immediate !== undefined || this.idle) return;
    const wait = this.#queue[this.#head]!.due - Date.now();
    if (wait > 0) this.#timer = setTimeout(() => this.#pump(), wait);
    else this.#immediate = setImmediate(() => this.#pump());
  }

  /** Delivers the head, and the whole chunks due behind it; a chunk's further pieces wait for a new macrotask. */
  #pump(): void {
    this.#timer = undefined;
    this.#immediate = undefined;
    const now = Date.now();
    let delivered = 0;
    while (!this.idle) {
      const entry = this.#queue[this.#head]!;
      if (entry.due > now || (delivered > 0 && !entry.first)) break;
      this.#queue[this.#head++] = undefined as unknown as Entry;
      delivered++;
      if (entry.bytes !== undefined) {
        this.#queuedBytes -= entry.bytes.length;
        this.#write(entry.bytes);
      } else entry.action?.();
      // The action may have torn this lane down.
      if (this.#queue.length === 0) return;
    }
    if (this.idle) {
      this.#queue.length = 0;
      this.#head = 0;
    } else if (this.#head > 1024) {
      this.#queue.splice(0, this.#head);
      this.#head = 0;
    }
    if (this.#paused && this.#queuedBytes <= this.settings.highWaterBytes / 2) {
      this.#paused = false;
      this.from.resume();
    }
    this.#schedule();
  }

  #write(bytes: Buffer): void {
    if (this.to.destroyed) return;
    this.stats.pieces++;
    if (bytes.length === 1) this.stats.oneBytePieces++;
    if (this.towardServer) this.stats.bytesToServer += bytes.length;
    else this.stats.bytesToClient += bytes.length;
    this.to.write(bytes);
  }
}

interface Pair {
  number: number;
  client: Socket;
  upstream: Socket;
  toServer: Lane;
  toClient: Lane;
  /** A cut was decided: nothing more is read from either side, the other direction's queue is dropped. */
  cutting: boolean;
  closed: boolean;
}

/**
 * A loopback TCP proxy that mistreats the stream the way a bad network does, while never reordering or
 * corrupting a byte: random pauses, writes split into small pieces (1-byte ones included) and connections cut
 * at random byte offsets in either direction. All of it is seeded (see {@link ChaosProxyOptions}), bounded (a
 * fixed chaos window that ends by itself, bounded delays, senders paused above a high-water mark) and counted in
 * {@link ChaosProxy.stats}.
 */
export class ChaosProxy {
  /** Always loopback. */
  readonly host = LOOPBACK_HOST;
  /** The port clients should connect to. */
  readonly port: number;
  readonly seed: number;
  readonly stats: ChaosStats = {
    connections: 0,
    cutsToServer: 0,
    cutsToClient: 0,
    splitChunks: 0,
    pieces: 0,
    oneBytePieces: 0,
    delayedSegments: 0,
    stalls: 0,
    bytesToServer: 0,
    bytesToClient: 0,
  };
  /** The first `traceLimit` decisions, e.g. `c3>s @512 +17 wait 4` or `c3<s cut @20480`. */
  readonly trace: string[] = [];
  /** Settles when the chaos window ended (by itself or through {@link ChaosProxy.endChaos}). */
  readonly chaosEnded: Promise<void>;
  readonly #server: Server;
  readonly #target: ChaosProxyTarget;
  readonly #settings: Settings;
  readonly #pairs = new Set<Pair>();
  #chaos = true;
  #endTimer: NodeJS.Timeout;
  #resolveEnded!: () => void;

  /** Wraps a listening server; use {@link startChaosProxy}. */
  constructor(port: number, server: Server, options: ChaosProxyOptions) {
    const { target, seed, durationMs } = options;
    if (!(durationMs >= 1 && durationMs <= MAX_DURATION_MS))
      throw new RangeError(`chaos-proxy: durationMs must be within 1..${MAX_DURATION_MS}`);
    this.#settings = {
      oneByteShare: options.oneByteShare ?? 0.2,
      smallShare: options.smallShare ?? 0.4,
      maxSegmentBytes: options.maxSegmentBytes ?? 4096,
      delayShare: options.delayShare ?? 0.1,
      maxDelayMs: Math.min(options.maxDelayMs ?? 8, MAX_STALL_MS),
      stallShare: options.stallShare ?? 0,
      stallMs: options.stallMs ?? [1000, 1500],
      cutBytes: options.cutBytes === undefined ? [2048, 65536] : options.cutBytes,
      earlyCutShare: options.earlyCutShare ?? 0.05,
      earlyCutBytes: options.earlyCutBytes ?? 160,
      highWaterBytes: options.highWaterBytes ?? 1024 * 1024,
      traceLimit: options.traceLimit ?? 0,
    };
    const [stallMin, stallMax] = this.#settings.stallMs;
    if (!(stallMin >= 0 && stallMin <= stallMax && stallMax <= MAX_STALL_MS))
      throw new RangeError(
        `chaos-proxy: stallMs must be an ordered range within 0..${MAX_STALL_MS}`,
      );
    const cut = this.#settings.cutBytes;
    if (cut !== null && !(cut[0] >= 1 && cut[0] <= cut[1]))
      throw new RangeError('chaos-proxy: cutBytes must be an ordered range of positive offsets');
    this.port = port;
    this.seed = seed >>> 0;
    this.#server = server;
    this.#target = { ...target };
    this.chaosEnded = new Promise((resolve) => (this.#resolveEnded = resolve));
    // Unreferenced: the window bounds the chaos; it is no reason to keep a process alive.
    this.#endTimer = setTimeout(() => this.endChaos(), durationMs).unref();
  }

  /** Whether the chaos window is still open. */
  get chaotic(): boolean {
    return this.#chaos;
  }

  /** Client connections currently open through the proxy. */
  get connectionCount(): number {
    return this.#pairs.size;
  }

  /** Ends the chaos now: from here on bytes are forwarded whole, at once, and no connection is cut. */
  endChaos(): void {
    clearTimeout(this.#endTimer);
    if (!this.#chaos) return;
    this.#chaos = false;
    this.#resolveEnded();
  }

  /** Destroys every connection. */
  cutAll(): void {
    for (const pair of [...this.#pairs]) this.#teardown(pair);
  }

  /** Ends the chaos, cuts every connection and stops listening. */
  close(): Promise<void> {
    this.endChaos();
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
    if (!this.#server.listening) {
      client.destroy();
      return;
    }
    const number = ++this.stats.connections;
    const upstream = connect({
      host: this.#target.host,
      port: this.#target.port,
      allowHalfOpen: true,
    });
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    // Cuts and resets are the point of this proxy; they must never surface as uncaught errors.
    client.on('error', () => undefined);
    upstream.on('error', () => undefined);
    const trace = (line: string) => {
      if (this.trace.length < this.#settings.traceLimit) this.trace.push(line);
    };
    const lane = (from: Socket, to: Socket, towardServer: boolean) =>
      new Lane(
        `c${number}${towardServer ? '>' : '<'}s`,
        from,
        to,
        this.#settings,
        this.stats,
        trace,
        laneSeed(this.seed, number, towardServer ? 0 : 1),
        towardServer,
      );
    const pair: Pair = {
      number,
      client,
      upstream,
      toServer: lane(client, upstream, true),
      toClient: lane(upstream, client, false),
      cutting: false,
      closed: false,
    };
    for (const l of [pair.toServer, pair.toClient])
      if (l.cutAt !== Infinity) trace(`${l.name} cut @${l.cutAt}`);
    this.#pairs.add(pair);
    this.#bridge(pair, pair.toServer, pair.toClient);
    this.#bridge(pair, pair.toClient, pair.toServer);
  }

  #bridge(pair: Pair, lane: Lane, other: Lane): void {
    const { from, to } = lane;
    from.on('data', (chunk: Buffer) => {
      if (pair.cutting || pair.closed) return;
      if (!this.#chaos) {
        lane.forwardClean(chunk);
        return;
      }
      if (!lane.forwardChaotic(chunk)) return;
      // The cut offset was reached: what is queued ahead of it still goes out, then both sockets die; the other
      // direction loses what it had queued, as on a real network.
      pair.cutting = true;
      other.clear();
      lane.then(() => {
        if (pair.closed) return;
        if (lane.towardServer) this.stats.cutsToServer++;
        else this.stats.cutsToClient++;
        const finish = () => this.#teardown(pair);
        if (to.destroyed || to.writableLength === 0) {
          finish();
          return;
        }
        to.once('drain', finish);
        setTimeout(finish, 100).unref();
      });
    });
    // Half-close travels in order behind the data, so a reply followed by FIN stays intact.
    from.on('end', () => {
      if (pair.cutting || pair.closed) return;
      lane.then(() => {
        if (!to.destroyed) to.end();
      });
    });
    from.on('close', (hadError: boolean) => {
      if (pair.client.destroyed && pair.upstream.destroyed) {
        this.#teardown(pair);
        return;
      }
      if (pair.cutting || pair.closed) return;
      // Close the other side behind pending bytes: gracefully unless this side died with an error (a reset).
      lane.then(() => {
        if (to.destroyed) return;
        if (hadError) to.destroy();
        else to.end();
      });
    });
  }

  #teardown(pair: Pair): void {
    if (pair.closed) return;
    pair.closed = true;
    pair.toServer.clear();
    pair.toClient.clear();
    pair.client.destroy();
    pair.upstream.destroy();
    this.#pairs.delete(pair);
  }
}

/** Starts a {@link ChaosProxy} on a free 127.0.0.1 port; its chaos window starts now. */
export function startChaosProxy(options: ChaosProxyOptions): Promise<ChaosProxy> {
  return new Promise((resolve, reject) => {
    let proxy: ChaosProxy | undefined;
    const server: Server = createServer({ allowHalfOpen: true }, (client) => {
      if (proxy) proxy.accept(client);
      else client.destroy();
    });
    server.once('error', reject);
    server.listen(0, LOOPBACK_HOST, () => {
      const address = server.address();
      if (address === null || typeof address === 'string') {
        server.close();
        reject(new Error('chaos-proxy: no TCP address'));
        return;
      }
      server.off('error', reject);
      server.on('error', () => undefined);
      try {
        proxy = new ChaosProxy(address.port, server, options);
      } catch (error) {
        server.close();
        reject(error as Error);
        return;
      }
      resolve(proxy);
    });
  });
}
