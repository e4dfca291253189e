import { keySlot } from '../cluster/hash-slot';
import type { ResponseError } from '../errors/redis-pool.errors';
import type { PubSubKind } from './subscription-registry';

/** Names grouped by hash slot, in first-seen order (SSUBSCRIBE may not span slots). */
export function bySlot(names: readonly string[]): Map<number, string[]> {
  const groups = new Map<number, string[]>();
  for (const name of names) {
    const slot = keySlot(name);
    const group = groups.get(slot);
    if (group === undefined) groups.set(slot, [name]);
    else group.push(name);
  }
  return groups;
}

/** A shard channel's slot is served by another node (the reply names it). */
export function isMoved(error: ResponseError, kind: PubSubKind): boolean {
  return kind === 'shard' && (error.code === 'MOVED' || error.code === 'ASK');
}

/** `host:port` from `MOVED <slot> <host:port>`. */
export function movedTarget(error: ResponseError): string | undefined {
  const target = error.message.trim().split(' ')[2];
  return target === undefined || target === '' ? undefined : target;
}

/** `kind` and `name` as one map key, for failures per name. */
export function failureKey(kind: PubSubKind, name: string): string {
  return `${kind}\u0000${name}`;
}
