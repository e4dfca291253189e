/**
 * `nestjs-redis-pool/cache`: a Keyv store over the pool, for Keyv, `cache-manager` and `@nestjs/cache-manager`. A
 * separate entry point that loads nothing but this package (Keyv's types only), so `keyv` and the cache packages
 * stay optional peers.
 */
export { RedisKeyvStore, type KeyvStoreEntry, type RedisKeyvStoreOpts } from './redis-keyv-store';
export {
  KEYV_STORE_DEFAULTS,
  type RedisKeyvStoreOptions,
  type ResolvedKeyvStoreOptions,
} from './keyv-store.options';
