export * from './errors/redis-pool.errors';
export type { RedisArgument, RedisReply, RedisMap, DecoderLimits } from './protocol/resp.types';
export { RedisMapEntries } from './protocol/resp-maps';
export { RespDecoder, type DecoderHandlers } from './protocol/resp-decoder';
export { encodeCommand } from './protocol/resp-encoder';
export { Connection, type ConnectionStatus } from './connection/connection';
export type { ConnectionOptions } from './connection/connection-options';
export { ConnectionPool } from './pool/connection-pool';
export type { PoolOptions, RetryOptions } from './pool/pool-options';
export type { CacheStats, ClientSideCacheOptions } from './client-cache/client-cache.options';
export type {
  CommandOptions,
  PoolStats,
  RedisPool,
  RedisPoolEvent,
} from './pool/redis-pool.interface';
export { parseRedisUrl, maskUrl } from './pool/redis-url';
export { ClusterPool, type ClusterHealth } from './cluster/cluster-pool';
export type { ClusterPoolOptions, ClusterReadFrom } from './cluster/cluster-options';
export { SentinelPool, type FailoverEvent } from './sentinel/sentinel-pool';
export type {
  NatMap,
  SentinelAddress,
  SentinelPoolOptions,
  SentinelReadFrom,
} from './sentinel/sentinel-options';
export { parseSentinelUrl } from './sentinel/sentinel-url';
export type { NodeAddress } from './cluster/cluster-topology';
export { keySlot, SLOT_COUNT } from './cluster/hash-slot';
export type { BatchCommand } from './pool/redis-pool.interface';
export * from './observability';
export * from './client';
export { RedisPoolModule } from './nest/redis-pool.module';
export { REDIS_UNAVAILABLE_BODY, RedisUnavailableFilter } from './nest/redis-unavailable.filter';
export { InjectPool, InjectRedis } from './nest/redis.decorators';
export { getPoolToken, getRedisPoolOptionsToken, getRedisToken } from './nest/redis.tokens';
export { DEFAULT_POOL_NAME } from './nest/redis.constants';
export type {
  RedisPoolClusterOptions,
  RedisPoolSentinelOptions,
  RedisPoolFactoryOptions,
  RedisPoolModuleAsyncOptions,
  RedisPoolModuleOptions,
  RedisPoolOptionsFactory,
  RedisStartupPolicy,
} from './nest/redis-pool.interfaces';
