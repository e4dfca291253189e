/**
 * `nestjs-redis-pool/bullmq`: BullMQ 6's `IRedisClient` on the app's own pool, so Queues, Workers, QueueEvents and
 * FlowProducers share it (blocking connections as exclusive leases). A separate entry point; `bullmq` (an optional
 * peer) is only imported for its types, so nothing of it loads from here.
 */
export { BullMqClient, type BullMqDuplicateOptions } from './bullmq-client';
export { BullMqTransaction, type TransactionResult } from './bullmq-transaction';
export {
  BULLMQ_CLIENT_DEFAULTS,
  type BullMqClientOptions,
  type ResolvedBullMqClientOptions,
} from './bullmq-client.options';
export {
  BullMqConnectionClosedError,
  CONNECTION_CLOSED_MESSAGE,
  UnknownScriptError,
} from './bullmq.errors';
export type { LeaseStatus } from './lease-binding';
export type { ScanStreamOptions } from './scan-stream';
export type { ScriptDefinition } from './script-registry';
export type { StreamEntryTuple, StreamReadReply } from './reply-shapes';
