import type { RedisService } from '../client/redis.service';
import { matchPattern, ownsKey, type KeyLayout } from './namespace-keys';
import type { StoreCommands } from './store-commands';

/** What a walk over a namespace's keys needs. */
export interface NamespaceWalk {
  layout: KeyLayout;
  /** Keys per batch, and the SCAN `COUNT` hint. */
  batchSize: number;
  /** `noNamespaceAffectsAll`: without a namespace, every key (not only those without the separator). */
  everything: boolean;
}

/**
 * The string keys a namespace owns, in batches of up to `batchSize`: SCAN MATCH `<namespace><separator>*` TYPE
 * string, on every master of a cluster in turn. SCAN's promise holds: a key there for the whole walk is seen at
 * least once (possibly twice).
 */
export async function* keyBatches(
  redis: RedisService,
  walk: NamespaceWalk,
): AsyncGenerator<string[], void, undefined> {
  const { layout, batchSize, everything } = walk;
  const scan = redis.scanIterator({
    match: matchPattern(layout),
    count: batchSize,
    type: 'string',
  });
  let batch: string[] = [];
  for await (const key of scan) {
    if (!ownsKey(layout, key, everything)) continue;
    batch.push(key);
    if (batch.length >= batchSize) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length > 0) yield batch;
}

/**
 * Deletes a namespace's keys batch by batch (UNLINK, one command per slot on a cluster), one batch being deleted
 * while the next is scanned. Never FLUSHDB: keys outside the namespace stay.
 */
export async function deleteNamespace(
  redis: RedisService,
  commands: StoreCommands,
  walk: NamespaceWalk,
): Promise<void> {
  let deleting: Promise<number> | undefined;
  for await (const batch of keyBatches(redis, walk)) {
    if (deleting !== undefined) await deleting;
    deleting = commands.remove(batch);
    // Awaited above or below; until then a failure must not count as unhandled if the scan fails first.
    deleting.catch(() => undefined);
  }
  if (deleting !== undefined) await deleting;
}
