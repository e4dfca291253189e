/** A host and port, as a server announces it or as this process reaches it. */
export interface NatAddress {
  host: string;
  port: number;
}

/**
 * Announced addresses (as sentinels or cluster nodes report them) mapped to where this process reaches them:
 * an object keyed by `'host:port'`, or a function (returning `undefined` leaves the address as announced). For
 * Docker, NAT and port-forwarding set-ups.
 */
export type NatMap = Record<string, NatAddress> | ((address: NatAddress) => NatAddress | undefined);

/** `natMap` applied to an announced address; `mapped` tells whether the map had an entry for it. */
export function lookUpNat(
  natMap: NatMap | undefined,
  address: NatAddress,
): { address: NatAddress; mapped: boolean } {
  if (natMap === undefined) return { address, mapped: false };
  const key = `${address.host}:${address.port}`;
  const target =
    typeof natMap === 'function'
      ? natMap({ host: address.host, port: address.port })
      : Object.hasOwn(natMap, key)
        ? natMap[key]
        : undefined;
  return target === undefined || target === null
    ? { address, mapped: false }
    : { address: { host: target.host, port: target.port }, mapped: true };
}

/** `natMap` applied to an announced address. */
export function mapAddress(natMap: NatMap | undefined, address: NatAddress): NatAddress {
  return lookUpNat(natMap, address).address;
}

/**
 * What is wrong with a `natMap` option, or `undefined` when it is fine: an object or a function, an object's
 * keys `'host:port'` and its values `{ host, port }` (port 1-65535).
 */
export function natMapProblem(natMap: unknown): string | undefined {
  if (natMap === undefined || typeof natMap === 'function') return undefined;
  if (natMap === null || typeof natMap !== 'object' || Array.isArray(natMap)) {
    return 'must be an object or a function';
  }
  for (const [key, value] of Object.entries(natMap as Record<string, unknown>)) {
    if (!/^.+:\d{1,5}$/.test(key)) return `key ${JSON.stringify(key)} must be 'host:port'`;
    const target = value as NatAddress | null;
    const valid =
      typeof target === 'object' &&
      target !== null &&
      typeof target.host === 'string' &&
      target.host !== '' &&
      Number.isInteger(target.port) &&
      target.port > 0 &&
      target.port < 65536;
    if (!valid) return `entry ${JSON.stringify(key)} must map to { host, port } (port 1-65535)`;
  }
  return undefined;
}
