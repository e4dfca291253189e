import type { RedisService } from '../client/redis.service';
import type { RedisArgument } from '../protocol/resp.types';
import { firstError, groupBySlot, settleEach, type KeyGroup } from './key-batches';

/** One value to write: a Redis key, the serialized value, and its time to live in ms (none when `undefined`). */
export interface StoreWrite {
  key: string;
  value: RedisArgument;
  ttlMs: number | undefined;
}

/**
 * The Redis side of the store, on Redis key names: each multi-key operation costs one round trip (per node on a
 * cluster). MGET and UNLINK carry whole groups of keys (one group per hash slot on a cluster, where a command may
 * not span slots); SET and EXISTS, which take one key each, are issued together in one event-loop turn, which the
 * pool writes in one go per connection.
 */
export class StoreCommands {
  private readonly clustered: boolean;

  constructor(
    private readonly redis: RedisService,
    private readonly useUnlink: boolean,
  ) {
    // Only pools that shard have master pools (ClusterPool); a ConnectionPool and a SentinelPool are one server.
    this.clustered = redis.pool.masterPools !== undefined;
  }

  // get() and set() are every cache call's path: the reply promise as the pool gives it, no layer of their own.

  /** GET: the value, `null` when missing. */
  get(key: string): Promise<string | null> {
    return this.redis.executeCommand<string | null>('GET', key);
  }

  /** SET with `PX` when there is a time to live. */
  set(key: string, value: RedisArgument, ttlMs: number | undefined): Promise<unknown> {
    return ttlMs === undefined
      ? this.redis.executeCommand('SET', key, value)
      : this.redis.executeCommand('SET', key, value, 'PX', ttlMs);
  }

  /** MGET (one per slot on a cluster): one value or `undefined` per key, in order. */
  async getEach(keys: readonly string[]): Promise<Array<string | undefined>> {
    const groups = groupBySlot(keys, this.clustered);
    if (groups.length === 1) return (await this.redis.mget(...groups[0].keys)).map(orUndefined);
    const values = new Array<string | undefined>(keys.length);
    const settled = await this.eachGroup(groups, (group) => this.redis.mget(...group.keys));
    groups.forEach((group, at) => {
      const replies = settled[at] as Array<string | null>;
      for (let i = 0; i < group.indexes.length; i++)
        values[group.indexes[i]] = orUndefined(replies[i]);
    });
    return values;
  }

  /** SET each, with errors in place: `true` for each write that went through. */
  async setEach(writes: readonly StoreWrite[]): Promise<Array<true | Error>> {
    const settled = await settleEach(writes.length, (index) => {
      const { key, value, ttlMs } = writes[index];
      return this.set(key, value, ttlMs);
    });
    return settled.map((value) => (value instanceof Error ? value : true));
  }

  /** EXISTS of each key, in order. */
  async existsEach(keys: readonly string[]): Promise<boolean[]> {
    const settled = await settleEach(keys.length, (index) => this.redis.exists(keys[index]));
    const error = firstError(settled);
    if (error !== undefined) throw error;
    return settled.map((count) => count === 1);
  }

  /** UNLINK (or DEL) of the keys, one command per slot on a cluster: how many existed. */
  async remove(keys: readonly string[]): Promise<number> {
    if (keys.length === 0) return 0;
    const groups = groupBySlot(keys, this.clustered);
    const counts = await this.eachGroup(groups, (group) =>
      this.useUnlink ? this.redis.unlink(...group.keys) : this.redis.del(...group.keys),
    );
    return counts.reduce((sum, count) => sum + (count as number), 0);
  }

  /** FLUSHDB: on a cluster the pool sends it to every master. */
  async flush(): Promise<void> {
    await this.redis.executeCommand('FLUSHDB');
  }

  /** Runs one command per group, all issued together; rejects with the first error. */
  private async eachGroup<T>(
    groups: readonly KeyGroup[],
    run: (group: KeyGroup) => Promise<T>,
  ): Promise<T[]> {
    const settled = await settleEach(groups.length, (index) => run(groups[index]));
    const error = firstError(settled);
    if (error !== undefined) throw error;
    return settled as T[];
  }
}

/** A reply's `null` (missing key) as Keyv's `undefined`. */
export function orUndefined(value: string | null): string | undefined {
  return value ?? undefined;
}
