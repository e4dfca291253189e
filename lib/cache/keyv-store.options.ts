import { ConfigurationError } from '../errors/redis-pool.errors';

/**
 * Options of `new RedisKeyvStore(redis, options)`. Names and defaults are `@keyv/redis`'s, so a store moved from
 * it reads and writes the same keys.
 */
export interface RedisKeyvStoreOptions {
  /**
   * The namespace the store starts with. Keyv sets `store.namespace` to its own (`'keyv'` unless told otherwise)
   * as soon as it gets the store, so this only matters for a store used without Keyv.
   * @default undefined
   */
  namespace?: string;
  /**
   * What joins the namespace and a key: `<namespace><separator><key>`, e.g. `keyv::keyv:user:1` (Keyv adds its
   * own `keyv:` in front of the key). Must not be empty.
   * @default '::'
   */
  keyPrefixSeparator?: string;
  /**
   * Keys per round of `clear()` and `iterator()`: the SCAN `COUNT` hint, and the most keys one UNLINK (or MGET)
   * batch carries.
   * @default 1000
   */
  clearBatchSize?: number;
  /** Delete with UNLINK (memory reclaimed in the background) rather than DEL. @default true */
  useUnlink?: boolean;
  /**
   * Only for a store without a namespace: `clear()` then runs FLUSHDB (on every master of a cluster), deleting
   * everything in the database, and `iterator()` yields every key. When false, a store without a namespace treats
   * the string keys that do not contain `keyPrefixSeparator` as its own, as `@keyv/redis` does.
   * @default false
   */
  noNamespaceAffectsAll?: boolean;
  /**
   * Rethrow Redis errors after emitting them as `'error'`. When false a failing call emits `'error'` and resolves
   * a no-op result (`undefined`, `false`, `[]`), which Keyv and cache-manager treat as a miss. Set Keyv's own
   * `throwOnErrors` too for errors to reach your code: Keyv swallows a store's rejected `get()` without it.
   * @default false
   */
  throwOnErrors?: boolean;
}

/** The options with every default filled in. */
export type ResolvedKeyvStoreOptions = Required<Omit<RedisKeyvStoreOptions, 'namespace'>> & {
  namespace: string | undefined;
};

/** The defaults, as `@keyv/redis` has them. */
export const KEYV_STORE_DEFAULTS = {
  keyPrefixSeparator: '::',
  clearBatchSize: 1000,
  useUnlink: true,
  noNamespaceAffectsAll: false,
  throwOnErrors: false,
} as const;

const KNOWN_OPTIONS: readonly string[] = ['namespace', ...Object.keys(KEYV_STORE_DEFAULTS)];

function described(value: unknown): string {
  return `${typeof value === 'string' ? JSON.stringify(value) : String(value)} (${typeof value})`;
}

function check(condition: boolean, name: string, expected: string, value: unknown): void {
  if (!condition) {
    throw new ConfigurationError(
      `RedisKeyvStore option ${name} must be ${expected}, got ${described(value)}`,
    );
  }
}

/**
 * Checks the options and fills in the defaults.
 * @throws ConfigurationError for an unknown option or a value of the wrong type.
 */
export function resolveKeyvStoreOptions(
  options: RedisKeyvStoreOptions = {},
): ResolvedKeyvStoreOptions {
  if (typeof options !== 'object' || options === null) {
    throw new ConfigurationError(
      `RedisKeyvStore options must be an object, got ${described(options)}`,
    );
  }
  for (const name of Object.keys(options)) {
    if (!KNOWN_OPTIONS.includes(name)) {
      throw new ConfigurationError(
        `Unknown RedisKeyvStore option "${name}" (known: ${KNOWN_OPTIONS.join(', ')})`,
      );
    }
  }
  const resolved: ResolvedKeyvStoreOptions = {
    ...KEYV_STORE_DEFAULTS,
    ...definedOnly(options),
    namespace: options.namespace,
  };
  const { namespace, keyPrefixSeparator, clearBatchSize } = resolved;
  check(
    namespace === undefined || typeof namespace === 'string',
    'namespace',
    'a string',
    namespace,
  );
  check(
    typeof keyPrefixSeparator === 'string' && keyPrefixSeparator !== '',
    'keyPrefixSeparator',
    'a non-empty string',
    keyPrefixSeparator,
  );
  check(
    Number.isSafeInteger(clearBatchSize) && clearBatchSize > 0,
    'clearBatchSize',
    'a positive integer',
    clearBatchSize,
  );
  for (const name of ['useUnlink', 'noNamespaceAffectsAll', 'throwOnErrors'] as const) {
    check(typeof resolved[name] === 'boolean', name, 'true or false', resolved[name]);
  }
  return resolved;
}

/** The options given a value: `{ useUnlink: undefined }` means the default, as with every other option here. */
function definedOnly(options: RedisKeyvStoreOptions): RedisKeyvStoreOptions {
  const entries = Object.entries(options).filter(([, value]) => value !== undefined);
  return Object.fromEntries(entries) as RedisKeyvStoreOptions;
}
