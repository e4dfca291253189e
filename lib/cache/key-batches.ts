import { BATCH_CHUNK_SIZE, toError } from '../client/command-batch';
import { keySlot } from '../cluster/hash-slot';

/** Keys one multi-key command may carry, with where each came from in the caller's list. */
export interface KeyGroup {
  keys: string[];
  indexes: number[];
}

/**
 * Most keys one multi-key command (MGET, UNLINK) carries: longer lists are split, so that no call spreads more
 * arguments than a JavaScript call takes and no single reply grows without bound.
 * @default 10_000
 */
export const MAX_KEYS_PER_COMMAND = 10_000;

/**
 * Splits keys into groups that one multi-key command may carry: on a single server, runs of up to
 * `MAX_KEYS_PER_COMMAND` keys; on a cluster, one group per hash slot (a command spanning slots is refused with
 * CROSSSLOT), split the same way.
 */
export function groupBySlot(keys: readonly string[], clustered: boolean): KeyGroup[] {
  const groups: KeyGroup[] = [];
  const open = new Map<number, KeyGroup>();
  for (let index = 0; index < keys.length; index++) {
    const key = keys[index];
    const slot = clustered ? keySlot(key) : 0;
    let group = open.get(slot);
    if (group === undefined || group.keys.length >= MAX_KEYS_PER_COMMAND) {
      group = { keys: [], indexes: [] };
      open.set(slot, group);
      groups.push(group);
    }
    group.keys.push(key);
    group.indexes.push(index);
  }
  return groups;
}

/**
 * Issues `issue(0)` ... `issue(count - 1)` and resolves what each settled with, errors in place. Each chunk of up to
 * `BATCH_CHUNK_SIZE` commands is issued in one event-loop turn, where the pool writes a turn's commands to one
 * connection in one go (on a cluster, one write per node): a chunk costs one round trip, not one per command. The
 * next chunk waits for the previous one, which bounds what a huge batch holds in flight.
 */
export async function settleEach<T>(
  count: number,
  issue: (index: number) => Promise<T>,
): Promise<Array<T | Error>> {
  const settled = new Array<T | Error>(count);
  for (let start = 0; start < count; start += BATCH_CHUNK_SIZE) {
    const end = Math.min(count, start + BATCH_CHUNK_SIZE);
    const round: Array<Promise<void>> = [];
    for (let index = start; index < end; index++) {
      round.push(
        issue(index).then(
          (value) => {
            settled[index] = value;
          },
          (error: unknown) => {
            settled[index] = toError(error);
          },
        ),
      );
    }
    await Promise.all(round);
  }
  return settled;
}

/** The first error among settled values, if any. */
export function firstError(settled: readonly unknown[]): Error | undefined {
  return settled.find((value): value is Error => value instanceof Error);
}
