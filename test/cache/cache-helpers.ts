import { connect, createServer, type Server, type Socket } from 'node:net';
import { Keyv as KeyvClass } from 'keyv';
import type { Keyv as EsmKeyv } from 'keyv' with { 'resolution-mode': 'import' };
import type { RedisServerHandle } from '../harness';
import { LOOPBACK_HOST } from '../harness';

/**
 * Keyv, typed as the ESM `@nestjs/cache-manager` 12 sees it. These tests are CommonJS, so `import { Keyv } from
 * 'keyv'` gets keyv's CommonJS declarations, a class TypeScript holds distinct from the ESM one that
 * `CacheModule`'s options name (the dual-package type hazard; an app is all ESM with Nest 12, or all CommonJS with
 * `@nestjs/cache-manager` 3, and never meets it). At run time it is the same Keyv.
 */
export const Keyv = KeyvClass as unknown as typeof EsmKeyv;

/** `INFO commandstats` as calls per command, e.g. `{ mget: 1, set: 20 }` (lower case, `|` for subcommands). */
export function parseCommandStats(info: string): Record<string, number> {
  const calls: Record<string, number> = {};
  for (const line of info.split('\n')) {
    const match = /^cmdstat_([^:]+):calls=(\d+)/.exec(line.trim());
    if (match) calls[match[1]] = Number(match[2]);
  }
  return calls;
}

/** Calls per command on one server since its last `CONFIG RESETSTAT`, read with redis-cli. */
export async function commandCalls(server: RedisServerHandle): Promise<Record<string, number>> {
  return parseCommandStats(await server.cli('INFO', 'commandstats'));
}

/** Adds up the calls of several servers (every master of a cluster). */
export async function totalCalls(servers: RedisServerHandle[]): Promise<Record<string, number>> {
  const total: Record<string, number> = {};
  for (const server of servers) {
    for (const [name, calls] of Object.entries(await commandCalls(server))) {
      total[name] = (total[name] ?? 0) + calls;
    }
  }
  return total;
}

/**
 * A loopback proxy that can hold back the server's replies: while `hold()` is in force, bytes from the server are
 * kept and nothing reaches the client. A client that waits for a reply before sending its next command cannot get
 * more than one command to the server while replies are held, so counting what the server ran (INFO
 * commandstats, asked over another connection) tells one round trip from several, with no timing involved.
 */
export class ReplyGate {
  private held = false;
  private readonly backlog: Array<() => void> = [];
  private readonly sockets = new Set<Socket>();

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  /** Starts a gate on a free port, forwarding to `target`. */
  static async start(target: { host: string; port: number }): Promise<ReplyGate> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, LOOPBACK_HOST, resolve));
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('no TCP address');
    const gate = new ReplyGate(server, address.port);
    server.on('connection', (client: Socket) => gate.accept(client, target));
    return gate;
  }

  get url(): string {
    return `redis://${LOOPBACK_HOST}:${this.port}`;
  }

  /** Keeps the server's replies from now on. */
  hold(): void {
    this.held = true;
  }

  /** Delivers what was kept, in order, and forwards again. */
  release(): void {
    this.held = false;
    for (const deliver of this.backlog.splice(0)) deliver();
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: Socket, target: { host: string; port: number }): void {
    const upstream = connect(target);
    for (const socket of [client, upstream]) {
      this.sockets.add(socket);
      socket.on('error', () => undefined);
      socket.on('close', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.on('data', (chunk: Buffer) => upstream.write(chunk));
    upstream.on('data', (chunk: Buffer) => {
      const deliver = (): void => {
        if (!client.destroyed) client.write(chunk);
      };
      if (this.held) this.backlog.push(deliver);
      else deliver();
    });
  }
}

/** Resolves after `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `check` every 20 ms until it holds, failing with `what` after `timeoutMs`. */
export async function eventually(
  check: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline)
      throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(20);
  }
}
