import { ConfigurationError } from '../errors/redis-pool.errors';

/** Options of `createSocketIoClients(redis, options)`. */
export interface SocketIoClientsOptions {
  /**
   * First delay before a subscriber leases a new connection after its connection closed (Redis restarted, a
   * failover, a network cut); doubles per failed attempt, with jitter.
   * @default 50
   */
  reconnectBaseDelayMs?: number;
  /**
   * Longest delay between two reconnection attempts of a subscriber.
   * @default 2000
   */
  reconnectMaxDelayMs?: number;
}

/** The options with every default filled in. */
export type ResolvedSocketIoClientsOptions = Required<SocketIoClientsOptions>;

/** The defaults of {@link SocketIoClientsOptions}. */
export const SOCKET_IO_CLIENTS_DEFAULTS: ResolvedSocketIoClientsOptions = {
  reconnectBaseDelayMs: 50,
  reconnectMaxDelayMs: 2000,
};

const KNOWN = Object.keys(SOCKET_IO_CLIENTS_DEFAULTS);

/**
 * Checks the options and fills in the defaults.
 * @throws ConfigurationError for an unknown option or a value that is not a positive finite number.
 */
export function resolveSocketIoClientsOptions(
  options: SocketIoClientsOptions = {},
): ResolvedSocketIoClientsOptions {
  if (typeof options !== 'object' || options === null) {
    throw new ConfigurationError(
      `createSocketIoClients options must be an object, got ${String(options)} (${typeof options})`,
    );
  }
  for (const key of Object.keys(options)) {
    if (!KNOWN.includes(key)) {
      throw new ConfigurationError(
        `Unknown createSocketIoClients option \`${key}\`; known options: ${KNOWN.join(', ')}`,
      );
    }
  }
  const resolved = { ...SOCKET_IO_CLIENTS_DEFAULTS };
  for (const key of KNOWN as Array<keyof ResolvedSocketIoClientsOptions>) {
    const value = options[key];
    if (value === undefined) continue;
    if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
      throw new ConfigurationError(
        `createSocketIoClients option ${key} must be a positive number of milliseconds, got ${String(value)} (${typeof value})`,
      );
    }
    resolved[key] = value;
  }
  if (resolved.reconnectMaxDelayMs < resolved.reconnectBaseDelayMs) {
    throw new ConfigurationError(
      `createSocketIoClients option reconnectMaxDelayMs (${resolved.reconnectMaxDelayMs}) must not be below reconnectBaseDelayMs (${resolved.reconnectBaseDelayMs})`,
    );
  }
  return resolved;
}
