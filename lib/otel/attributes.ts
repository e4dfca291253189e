import type { Attributes } from '@opentelemetry/api';
import { ResponseError } from '../errors/redis-pool.errors';
import type { ServerTarget } from '../observability/command-context';

/*
 * Attribute names of the OpenTelemetry database semantic conventions (stable since 1.33), written out here so
 * this entry point depends on nothing but `@opentelemetry/api`.
 */
export const ATTR = {
  dbSystemName: 'db.system.name',
  dbOperationName: 'db.operation.name',
  dbNamespace: 'db.namespace',
  dbQueryText: 'db.query.text',
  dbResponseStatusCode: 'db.response.status_code',
  dbBatchSize: 'db.operation.batch.size',
  poolName: 'db.client.connection.pool.name',
  connectionState: 'db.client.connection.state',
  serverAddress: 'server.address',
  serverPort: 'server.port',
  errorType: 'error.type',
} as const;

/** The attributes every span and operation metric of a pool carries. */
export function targetAttributes(target: ServerTarget): Attributes {
  const attributes: Attributes = {
    [ATTR.dbSystemName]: 'redis',
    [ATTR.dbNamespace]: String(target.database),
  };
  if (target.serverAddress !== '') attributes[ATTR.serverAddress] = target.serverAddress;
  if (target.serverPort !== undefined) attributes[ATTR.serverPort] = target.serverPort;
  return attributes;
}

/** `error.type`: the Redis error code (`WRONGTYPE`) for an error reply, else the error's class name. */
export function errorType(error: unknown): string {
  if (error instanceof ResponseError) return error.code;
  if (error instanceof Error) return error.name;
  return 'Error';
}

/**
 * An error's message fit for telemetry. Ours never carry arguments; a server's error reply may quote them
 * (`ERR unknown command 'x', with args beginning with: 'secret'`), so that part is cut.
 */
export function safeMessage(error: unknown): string {
  if (!(error instanceof Error)) return 'Error';
  const message = error.message;
  const quoted = message.search(/,? with args beginning with:/i);
  return quoted === -1 ? message : `${message.slice(0, quoted)} (arguments not shown)`;
}

/** The pool attributes of a pool metric. */
export function poolAttributes(target: ServerTarget): Attributes {
  const attributes: Attributes = { [ATTR.poolName]: target.poolName };
  if (target.serverAddress !== '') attributes[ATTR.serverAddress] = target.serverAddress;
  if (target.serverPort !== undefined) attributes[ATTR.serverPort] = target.serverPort;
  return attributes;
}
