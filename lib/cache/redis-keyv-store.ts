import { EventEmitter } from 'node:events';
import type { KeyvStoreAdapter, StoredData } from 'keyv';
import type { RedisService } from '../client/redis.service';
import { ConfigurationError } from '../errors/redis-pool.errors';
import type { RedisArgument } from '../protocol/resp.types';
import { firstError } from './key-batches';
import {
  resolveKeyvStoreOptions,
  type RedisKeyvStoreOptions,
  type ResolvedKeyvStoreOptions,
} from './keyv-store.options';
import { deleteNamespace, keyBatches, type NamespaceWalk } from './namespace-scan';
import { unprefixKey, type KeyLayout } from './namespace-keys';
import { orUndefined, StoreCommands, type StoreWrite } from './store-commands';

/** What `store.opts` shows: the options in force, the namespace, and the dialect Keyv looks for. */
export type RedisKeyvStoreOpts = ResolvedKeyvStoreOptions & { dialect: 'redis' };

/** One entry of `setMany()`, as Keyv hands it over (`ttl` in ms). */
export interface KeyvStoreEntry {
  key: string;
  value: unknown;
  ttl?: number;
}

/** A time to live in whole ms for `PX`, rounded up; none for `undefined`, 0, negative or non-finite values. */
function ttlOf(ttl: unknown): number | undefined {
  return typeof ttl === 'number' && ttl > 0 && Number.isFinite(ttl) ? Math.ceil(ttl) : undefined;
}

function acknowledged(): true {
  return true;
}

/** The value as Redis takes it; Keyv hands the store strings, so anything else is a mistake worth a clear error. */
function storable(key: string, value: unknown): RedisArgument {
  if (
    typeof value === 'string' ||
    Buffer.isBuffer(value) ||
    value instanceof Uint8Array ||
    typeof value === 'number' ||
    typeof value === 'bigint'
  ) {
    return value;
  }
  throw new TypeError(
    `RedisKeyvStore stores strings: Keyv serializes values before they reach the store (keep its serialize option), got ${typeof value} for key ${JSON.stringify(key)}`,
  );
}

/**
 * A Keyv 5 store over a `RedisService`, so that Keyv, `cache-manager` and `@nestjs/cache-manager` run on the app's
 * one pool (a `ConnectionPool`, `ClusterPool` or `SentinelPool`) instead of a Redis client of their own:
 *
 * ```ts
 * const cache = createCache({ stores: [new Keyv({ store: new RedisKeyvStore(redis) })] });
 * ```
 *
 * - Keys are `<namespace>::<key>` (Keyv sets `store.namespace`), values Keyv's serialized strings, times to live
 *   `PX` in ms: the layout `@keyv/redis` uses, so a cache moved from it stays warm.
 * - `getMany`, `setMany`, `hasMany` and `deleteMany` cost one round trip (one per node on a cluster).
 * - `clear()` deletes only this namespace's keys (SCAN and UNLINK in batches, on every master of a cluster).
 * - Redis errors are emitted as `'error'` (Keyv forwards them to its own listeners) and, with `throwOnErrors`,
 *   rethrown; otherwise the call resolves a miss.
 * - `disconnect()` leaves the pool alone: it is shared, and its owner (the Nest module) closes it.
 */
export class RedisKeyvStore extends EventEmitter implements KeyvStoreAdapter {
  /**
   * The namespace of every key; Keyv sets it to its own (`'keyv'` by default). Without one, see
   * `noNamespaceAffectsAll` for what `clear()` and `iterator()` cover.
   */
  namespace: string | undefined;
  private readonly settings: ResolvedKeyvStoreOptions;
  private readonly commands: StoreCommands;

  constructor(
    /** The service (and so the pool) every command runs on; a `withOptions()` view works too. */
    readonly redis: RedisService,
    options?: RedisKeyvStoreOptions,
  ) {
    super();
    if (typeof redis !== 'object' || redis === null || typeof redis.pool !== 'object') {
      throw new ConfigurationError(
        'RedisKeyvStore needs a RedisService: new RedisKeyvStore(redis), with the injected RedisService or new RedisService(pool)',
      );
    }
    this.settings = resolveKeyvStoreOptions(options);
    this.namespace = this.settings.namespace;
    this.commands = new StoreCommands(redis, this.settings.useUnlink);
  }

  /** The options in force, with the current namespace and `dialect: 'redis'` (Keyv offers `iterator()` by it). */
  get opts(): RedisKeyvStoreOpts {
    return { ...this.settings, namespace: this.namespace, dialect: 'redis' };
  }

  /**
   * The stored value (the string Keyv serialized), or `undefined` when the key is missing or expired. Typed as
   * Keyv's adapter type has it.
   */
  get<Value>(key: string): Promise<StoredData<Value> | undefined> {
    return this.commands
      .get(this.keyOf(key))
      .then(orUndefined as (value: string | null) => StoredData<Value> | undefined, (error) =>
        this.failed(error, undefined),
      );
  }

  /** One stored value or `undefined` per key, in order: one MGET (one per slot on a cluster). */
  async getMany<Value>(keys: string[]): Promise<Array<StoredData<Value | undefined>>> {
    if (keys.length === 0) return [];
    try {
      const values = await this.commands.getEach(keys.map((key) => this.keyOf(key)));
      return values as Array<StoredData<Value | undefined>>;
    } catch (error) {
      return this.failed(
        error,
        keys.map(() => undefined),
      );
    }
  }

  /**
   * SET, with `PX ttl` when `ttl` (ms) is a positive number (rounded up to whole ms); no expiry otherwise.
   * Resolves `true`, or `false` when it failed and `throwOnErrors` is off.
   */
  set(key: string, value: unknown, ttl?: number): Promise<boolean> {
    let reply: Promise<unknown>;
    try {
      reply = this.commands.set(this.keyOf(key), storable(key, value), ttlOf(ttl));
    } catch (error) {
      return new Promise((resolve) => resolve(this.failed(error, false)));
    }
    return reply.then(acknowledged, (error) => this.failed(error, false));
  }

  /**
   * SET of every entry in one round trip. Resolves one `true` (written) or `false` (failed) per entry, which
   * Keyv's `setMany()` returns as its result; typed `void` as Keyv's adapter type has it.
   */
  setMany(entries: KeyvStoreEntry[]): Promise<void> {
    return this.writeMany(entries) as Promise<unknown> as Promise<void>;
  }

  /** Whether the key exists (EXISTS). */
  async has(key: string): Promise<boolean> {
    try {
      return (await this.redis.exists(this.keyOf(key))) === 1;
    } catch (error) {
      return this.failed(error, false);
    }
  }

  /** Whether each key exists, in one round trip. */
  async hasMany(keys: string[]): Promise<boolean[]> {
    try {
      return await this.commands.existsEach(keys.map((key) => this.keyOf(key)));
    } catch (error) {
      return this.failed(
        error,
        keys.map(() => false),
      );
    }
  }

  /** UNLINK (or DEL): whether the key existed. */
  async delete(key: string): Promise<boolean> {
    try {
      return (await this.commands.remove([this.keyOf(key)])) > 0;
    } catch (error) {
      return this.failed(error, false);
    }
  }

  /** UNLINK (or DEL) of every key in one round trip: whether any of them existed (as `@keyv/redis`). */
  async deleteMany(keys: string[]): Promise<boolean> {
    try {
      return (await this.commands.remove(keys.map((key) => this.keyOf(key)))) > 0;
    } catch (error) {
      return this.failed(error, false);
    }
  }

  /**
   * Deletes this namespace's keys: SCAN MATCH `<namespace>::*` TYPE string, UNLINK in batches of
   * `clearBatchSize`, on every master of a cluster. Other namespaces and your own keys stay. Without a namespace
   * it deletes the string keys that contain no `keyPrefixSeparator` (as `@keyv/redis`), or, only with
   * `noNamespaceAffectsAll`, runs FLUSHDB.
   */
  async clear(): Promise<void> {
    try {
      if (!this.namespace && this.settings.noNamespaceAffectsAll) {
        await this.commands.flush();
        return;
      }
      await deleteNamespace(this.redis, this.commands, this.walk(this.namespace));
    } catch (error) {
      this.failed(error, undefined);
    }
  }

  /**
   * Every `[key, value]` of a namespace, keys without the namespace, fetched `clearBatchSize` at a time (SCAN,
   * then MGET); a key deleted or expired between the two is skipped. Called with no argument it walks this
   * store's namespace; with one (Keyv always passes its own) that namespace, `undefined` meaning none (as
   * `@keyv/redis`: the string keys without the separator, or every key with `noNamespaceAffectsAll`).
   */
  async *iterator(
    ...args: [namespace?: string | undefined]
  ): AsyncGenerator<[string, string], void, undefined> {
    const walk = this.walk(args.length === 0 ? this.namespace : args[0]);
    try {
      for await (const batch of keyBatches(this.redis, walk)) {
        const values = await this.commands.getEach(batch);
        for (let i = 0; i < batch.length; i++) {
          const value = values[i];
          if (value !== undefined) yield [unprefixKey(walk.layout, batch[i]), value];
        }
      }
    } catch (error) {
      this.failed(error, undefined);
    }
  }

  /**
   * Resolves at once and leaves the pool open: it is shared with the rest of the app, and its owner closes it
   * (`RedisPoolModule` at shutdown, or your `pool.disconnect()`). cache-manager calls this on module destroy.
   */
  disconnect(): Promise<void> {
    return Promise.resolve();
  }

  /** `setMany()` with its result typed. */
  private async writeMany(entries: KeyvStoreEntry[]): Promise<boolean[]> {
    let writes: StoreWrite[];
    try {
      writes = entries.map(({ key, value, ttl }) => ({
        key: this.keyOf(key),
        value: storable(key, value),
        ttlMs: ttlOf(ttl),
      }));
    } catch (error) {
      return this.failed(
        error,
        entries.map(() => false),
      );
    }
    const settled = await this.commands.setEach(writes);
    const error = firstError(settled);
    const written = settled.map((value) => value === true);
    return error === undefined ? written : this.failed(error, written);
  }

  /** The Redis key of a Keyv key: `<namespace><separator><key>`, or the key as is without a namespace. */
  private keyOf(key: string): string {
    const namespace = this.namespace;
    return namespace ? `${namespace}${this.settings.keyPrefixSeparator}${key}` : key;
  }

  private layout(namespace: string | undefined): KeyLayout {
    return { namespace, separator: this.settings.keyPrefixSeparator };
  }

  private walk(namespace: string | undefined): NamespaceWalk {
    return {
      layout: this.layout(namespace),
      batchSize: this.settings.clearBatchSize,
      everything: this.settings.noNamespaceAffectsAll,
    };
  }

  /** Reports a failure: emitted as `'error'` when someone listens, rethrown with `throwOnErrors`, else `fallback`. */
  private failed<T>(error: unknown, fallback: T): T {
    if (this.listenerCount('error') > 0) this.emit('error', error);
    if (this.settings.throwOnErrors) throw error;
    return fallback;
  }
}
