import type { ConnectionOptions as TlsConnectionOptions } from 'node:tls';
import type { ConnectionTelemetry } from '../observability/command-context';
import type { DecoderLimits } from '../protocol/resp.types';

/** What one connection needs, with every default already applied by the pool. */
export interface ConnectionOptions {
  host: string;
  port: number;
  /** Unix socket path; wins over host and port. */
  path?: string;
  /** TLS settings; absent for a plain connection. */
  tls?: TlsConnectionOptions;
  username?: string;
  password?: string;
  db: number;
  clientName?: string;
  protocol: 2 | 3;
  connectTimeoutMs: number;
  commandTimeoutMs: number;
  keepAliveMs: number;
  decoderLimits?: DecoderLimits;
  /** Sends READONLY after connecting, so a cluster replica serves reads of the slots its master owns. */
  readOnly?: boolean;
  /** Checks ROLE at the end of the handshake and fails the connection when the node has another role. */
  expectRole?: 'master' | 'slave';
  /** The pool's telemetry (name, target, counters); set by the pool, absent for a bare connection. */
  telemetry?: ConnectionTelemetry;
  /** Sends `CLIENT TRACKING ON` in a RESP3 handshake, for the client-side cache (RESP2 gets no pushes). */
  tracking?: boolean;
}

/** `host:port` or the socket path, for messages. Never holds credentials. */
export function addressOf(options: Pick<ConnectionOptions, 'host' | 'port' | 'path'>): string {
  if (options.path !== undefined) return options.path;
  return options.host.includes(':')
    ? `[${options.host}]:${options.port}`
    : `${options.host}:${options.port}`;
}
