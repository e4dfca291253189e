export { RedisService, type TransactionOptions, type WatchOptions } from './redis.service';
export { LeasedClient } from './leased-client';
export { Pipeline, type BatchResults } from './pipeline';
export { Multi } from './multi';
export {
  Subscriber,
  type MessageHandler,
  type BufferMessageHandler,
  type SubscribeOptions,
  type Subscription,
  type SubscriptionKind,
  type SubscriberOptions,
} from './subscriber';
export type { RedisScript, ScriptOptions } from './script';
export type { ScanPage } from './scan-commands';
export type { Chained, ChainKind } from './command-types';
export type { ChainTargets } from './chain-targets';
export { BATCH_CHUNK_SIZE } from './command-batch';
export type * from './redis-client.types';
