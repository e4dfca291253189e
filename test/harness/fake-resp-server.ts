import { createServer, type Server, type Socket } from 'node:net';

import { LOOPBACK_HOST } from './free-port';

export { respEncode } from './resp-encode';

/** Per-command callback; whatever it writes (or doesn't) is the fake server's reply. */
export type FakeRespHandler = (command: string[], conn: FakeConnection) => void | Promise<void>;

const CR = 0x0d;
const STAR = 0x2a;
const DOLLAR = 0x24;

class ProtocolError extends Error {}

/**
 * Incremental parser for what clients send: RESP arrays of bulk strings, plus inline commands
 * (`PING\r\n`) the way redis-server accepts them. Bytes are kept until a command is complete,
 * so chunk boundaries can fall anywhere.
 */
class CommandParser {
  #buffer: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): string[][] {
    this.#buffer = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk]);
    const commands: string[][] = [];
    for (;;) {
      const parsed = this.#parseOne();
      if (parsed === undefined) break;
      this.#buffer = this.#buffer.subarray(parsed.consumed);
      if (parsed.command.length > 0) commands.push(parsed.command);
    }
    return commands;
  }

  #parseOne(): { command: string[]; consumed: number } | undefined {
    const buf = this.#buffer;
    if (buf.length === 0) return undefined;
    if (buf[0] !== STAR) {
      const newline = buf.indexOf('\n');
      if (newline < 0) return undefined;
      const line = buf.toString('utf8', 0, newline).replace(/\r$/, '');
      return {
        command: line.split(/\s+/).filter((word) => word.length > 0),
        consumed: newline + 1,
      };
    }
    const header = this.#readLine(0);
    if (header === undefined) return undefined;
    const count = this.#parseLength(header.text, 'multibulk count');
    const command: string[] = [];
    let offset = header.next;
    for (let i = 0; i < count; i += 1) {
      if (offset >= buf.length) return undefined;
      if (buf[offset] !== DOLLAR) {
        throw new ProtocolError(`expected '$', got '${String.fromCharCode(buf[offset]!)}'`);
      }
      const lengthLine = this.#readLine(offset);
      if (lengthLine === undefined) return undefined;
      const length = this.#parseLength(lengthLine.text, 'bulk length');
      const end = lengthLine.next + length;
      if (buf.length < end + 2) return undefined;
      command.push(buf.toString('utf8', lengthLine.next, end));
      offset = end + 2;
    }
    return { command, consumed: offset };
  }

  /** Reads `<type byte><text>\r\n` starting at `start`; undefined until the CRLF has arrived. */
  #readLine(start: number): { text: string; next: number } | undefined {
    const cr = this.#buffer.indexOf(CR, start);
    if (cr < 0 || cr + 1 >= this.#buffer.length) return undefined;
    return { text: this.#buffer.toString('latin1', start + 1, cr), next: cr + 2 };
  }

  #parseLength(text: string, what: string): number {
    const value = Number(text);
    if (!/^-?\d+$/.test(text) || value > 512 * 1024 * 1024) {
      throw new ProtocolError(`invalid ${what}`);
    }
    return Math.max(value, 0);
  }
}

/** One client connection accepted by a {@link FakeRespServer}. */
export class FakeConnection {
  /** Commands received on this connection, in order. */
  readonly commands: string[][] = [];

  /** Wraps an accepted socket; created by the fake server, not by tests. */
  constructor(
    /** The raw socket, for tests that need lower-level control (half-close, pause...). */
    readonly socket: Socket,
  ) {}

  /** Sends raw bytes; a no-op once the socket is gone, so late handler writes are harmless. */
  write(bytes: string | Buffer): void {
    if (!this.socket.destroyed && this.socket.writable) this.socket.write(bytes);
  }

  /** Drops the connection abruptly, as a crashing server would. */
  destroy(): void {
    this.socket.destroy();
  }
}

/**
 * An in-process RESP server that answers only what the test's handler writes. For byte
 * sequences a real redis-server never sends: malformed frames, split replies, stalls.
 */
export class FakeRespServer {
  /** Always loopback. */
  readonly host = LOOPBACK_HOST;
  /** Every command received, from all connections, in arrival order. */
  readonly commands: string[][] = [];
  /** Errors thrown (or rejected) by the handler; the affected connection is destroyed. */
  readonly errors: unknown[] = [];
  /** The listening port. */
  readonly port: number;
  readonly #server: Server;
  readonly #open = new Set<FakeConnection>();
  #accepted = 0;

  /** Wraps a listening server; use {@link startFakeRespServer}. */
  constructor(port: number, server: Server) {
    this.port = port;
    this.#server = server;
  }

  /** Currently open connections, oldest first. */
  get connections(): FakeConnection[] {
    return [...this.#open];
  }

  /** Number of connections accepted since start, including closed ones. */
  get acceptedCount(): number {
    return this.#accepted;
  }

  /** Destroys every connection and stops listening. */
  close(): Promise<void> {
    for (const conn of this.#open) conn.destroy();
    return new Promise((resolve) => {
      if (!this.#server.listening) {
        resolve();
        return;
      }
      this.#server.close(() => resolve());
    });
  }

  /** @internal Wires one accepted socket to the parser and handler. */
  accept(socket: Socket, handler: FakeRespHandler): void {
    const conn = new FakeConnection(socket);
    const parser = new CommandParser();
    this.#accepted += 1;
    this.#open.add(conn);
    // Clients reset connections all the time in these tests; that is not a harness failure.
    socket.on('error', () => undefined);
    socket.on('close', () => this.#open.delete(conn));
    const fail = (error: unknown): void => {
      this.errors.push(error);
      conn.destroy();
    };
    socket.on('data', (chunk: Buffer) => {
      let commands: string[][];
      try {
        commands = parser.push(chunk);
      } catch (error) {
        if (!(error instanceof ProtocolError)) throw error;
        // Same answer as redis-server, which then closes the connection.
        conn.write(`-ERR Protocol error: ${error.message}\r\n`);
        socket.end();
        return;
      }
      for (const command of commands) {
        if (socket.destroyed) return;
        this.commands.push(command);
        conn.commands.push(command);
        try {
          const result = handler(command, conn);
          if (result instanceof Promise) result.catch(fail);
        } catch (error) {
          fail(error);
        }
      }
    });
  }
}

/** Starts a {@link FakeRespServer} on a free 127.0.0.1 port; `handler` runs once per command. */
export function startFakeRespServer(handler: FakeRespHandler): Promise<FakeRespServer> {
  return new Promise((resolve, reject) => {
    let fake: FakeRespServer | undefined;
    const server = createServer((socket) => {
      if (fake) fake.accept(socket, handler);
      else socket.destroy();
    });
    server.once('error', reject);
    server.listen(0, LOOPBACK_HOST, () => {
      const address = server.address();
      if (address === null || typeof address === 'string') {
        server.close();
        reject(new Error('fake-resp-server: no TCP address'));
        return;
      }
      server.off('error', reject);
      server.on('error', () => undefined);
      fake = new FakeRespServer(address.port, server);
      resolve(fake);
    });
  });
}
