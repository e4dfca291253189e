/*
 * The payloads published on the `nestjs-redis-pool:*` diagnostics channels. The TracingChannel contexts have the
 * shape of node-redis 5's and ioredis 5's (`command`, `args`, `database`, `serverAddress`, `serverPort`, and
 * `batchMode`/`batchSize` for batches), plus the pool's name, so an APM agent written for those reads ours too.
 * Arguments are always redacted (`redactArgs`): no channel ever carries a value or a secret.
 */
import type { RedisArgument } from '../protocol/resp.types';

/** Where a pool's commands go: the `server.*` and `db.namespace` attributes of OpenTelemetry. */
export interface ServerTarget {
  /** Host name, IP address or unix socket path. */
  serverAddress: string;
  /** TCP port; `undefined` for a unix socket. */
  serverPort: number | undefined;
  /** The database number. */
  database: number;
  /** The pool's name (`db.client.connection.pool.name`). */
  poolName: string;
}

/**
 * What a connection reads from its pool's telemetry (`ConnectionOptions.telemetry`): where it points, the
 * command-timeout counter, and the context of a command it traces.
 */
export interface ConnectionTelemetry extends ServerTarget {
  commandTimeouts: number;
  commandContext(
    command: string,
    args: readonly RedisArgument[],
    connectionId?: number,
  ): CommandTraceContext;
}

/** Context of `nestjs-redis-pool:command`: one command, on the shared path or on a leased connection. */
export interface CommandTraceContext extends ServerTarget {
  /** Upper-case command name (`GET`, `CLIENT`). */
  command: string;
  /** The arguments, keys and structural words shown, `'?'` for every value (see `redactArgs`). */
  args: string[];
  /** The leased connection's id; `undefined` on the shared (multiplexed) path. */
  connectionId: number | undefined;
  /** Set by the channel: the reply, when it resolved. */
  result?: unknown;
  /** Set by the channel: the error, when it rejected. */
  error?: unknown;
}

/** Context of `nestjs-redis-pool:batch`: a pipeline or a MULTI/EXEC transaction, as one operation. */
export interface BatchTraceContext extends ServerTarget {
  batchMode: 'PIPELINE' | 'MULTI';
  /** Commands in the batch (MULTI and EXEC not counted). */
  batchSize: number;
  /** The redacted commands (name and arguments), in order. */
  commands: string[];
  /** The leased connection's id, once the batch has one (filled in before any command is sent). */
  connectionId: number | undefined;
  result?: unknown;
  error?: unknown;
}

/** Context of `nestjs-redis-pool:connect`: one connection being opened, connect and handshake. */
export interface ConnectTraceContext extends ServerTarget {
  connectionId: number;
  result?: unknown;
  error?: unknown;
}

/** `nestjs-redis-pool:connection:create`: a connection finished its handshake. */
export interface ConnectionCreatedEvent extends ServerTarget {
  connectionId: number;
  /** Milliseconds from opening the socket to the end of the handshake. */
  createTimeMs: number;
}

/** `nestjs-redis-pool:connection:close`: a connection of the pool closed. */
export interface ConnectionClosedEvent extends ServerTarget {
  connectionId: number;
  /** Why it closed; `undefined` for a requested close. */
  error: Error | undefined;
}

/** `nestjs-redis-pool:lease:wait-start`: a caller found every lease taken and waits. */
export interface LeaseWaitStartEvent extends ServerTarget {
  /** Callers waiting, this one included. */
  waiting: number;
}

/** `nestjs-redis-pool:lease:wait-end`: a caller stopped waiting. */
export interface LeaseWaitEndEvent extends ServerTarget {
  waitMs: number;
  outcome: 'acquired' | 'timeout' | 'failed';
}

/** `nestjs-redis-pool:lease:acquire`: a lease was handed out (at once or after a wait). */
export interface LeaseAcquireEvent extends ServerTarget {
  connectionId: number;
  /** How long the caller waited for it (0 when one was free). */
  waitMs: number;
}

/** `nestjs-redis-pool:lease:release`: a lease was given back. */
export interface LeaseReleaseEvent extends ServerTarget {
  connectionId: number;
  /** How long it was held. */
  useMs: number;
}

/** `nestjs-redis-pool:pool:down` and `nestjs-redis-pool:pool:up`. */
export interface PoolStateEvent extends ServerTarget {
  state: 'down' | 'up';
  /** For `down`: the connect error. */
  error: Error | undefined;
}

/** `nestjs-redis-pool:cluster:redirection`: a cluster node answered MOVED or ASK. */
export interface ClusterRedirectionEvent {
  kind: 'MOVED' | 'ASK';
  slot: number;
  /** `host:port` of the node that answered. */
  from: string;
  /** `host:port` of the node named. */
  to: string;
}

/** `nestjs-redis-pool:sentinel:failover`: a sentinel pool switched to another master. */
export interface SentinelFailoverEvent {
  poolName: string;
  from: string;
  to: string;
}
