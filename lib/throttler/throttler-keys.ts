/**
 * The key of one throttle record: `<prefix>:<throttlerName>:<key>`. A record is one key, so a cluster keeps it
 * whole on the master of its slot, and different trackers spread over the masters.
 */
export function throttlerKey(prefix: string, throttlerName: string, key: string): string {
  return `${prefix}:${throttlerName}:${key}`;
}
