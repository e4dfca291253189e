import * as dc from 'node:diagnostics_channel';
import type {
  BatchTraceContext,
  ClusterRedirectionEvent,
  CommandTraceContext,
  ConnectTraceContext,
  ConnectionClosedEvent,
  ConnectionCreatedEvent,
  LeaseAcquireEvent,
  LeaseReleaseEvent,
  LeaseWaitEndEvent,
  LeaseWaitStartEvent,
  PoolStateEvent,
  SentinelFailoverEvent,
} from './command-context';

/** Every diagnostics channel this package publishes on. */
export const CHANNELS = {
  /** TracingChannel: one command (`CommandTraceContext`). */
  command: 'nestjs-redis-pool:command',
  /** TracingChannel: one pipeline or transaction (`BatchTraceContext`). */
  batch: 'nestjs-redis-pool:batch',
  /** TracingChannel: one connection being opened (`ConnectTraceContext`). */
  connect: 'nestjs-redis-pool:connect',
  connectionCreate: 'nestjs-redis-pool:connection:create',
  connectionClose: 'nestjs-redis-pool:connection:close',
  leaseWaitStart: 'nestjs-redis-pool:lease:wait-start',
  leaseWaitEnd: 'nestjs-redis-pool:lease:wait-end',
  leaseAcquire: 'nestjs-redis-pool:lease:acquire',
  leaseRelease: 'nestjs-redis-pool:lease:release',
  poolDown: 'nestjs-redis-pool:pool:down',
  poolUp: 'nestjs-redis-pool:pool:up',
  clusterRedirection: 'nestjs-redis-pool:cluster:redirection',
  sentinelFailover: 'nestjs-redis-pool:sentinel:failover',
} as const;

/*
 * Resolved once at load: publishing asks only `hasSubscribers`, so with nobody subscribed the hot path pays one
 * property read.
 */
export const commandChannel = dc.tracingChannel<unknown, CommandTraceContext>(CHANNELS.command);
export const batchChannel = dc.tracingChannel<unknown, BatchTraceContext>(CHANNELS.batch);
export const connectChannel = dc.tracingChannel<unknown, ConnectTraceContext>(CHANNELS.connect);

/** A point channel with its payload's type. */
export interface PointChannel<T> {
  readonly hasSubscribers: boolean;
  publish(message: T): void;
}

function point<T>(name: string): PointChannel<T> {
  return dc.channel(name) as PointChannel<T>;
}

export const connectionCreateChannel = point<ConnectionCreatedEvent>(CHANNELS.connectionCreate);
export const connectionCloseChannel = point<ConnectionClosedEvent>(CHANNELS.connectionClose);
export const leaseWaitStartChannel = point<LeaseWaitStartEvent>(CHANNELS.leaseWaitStart);
export const leaseWaitEndChannel = point<LeaseWaitEndEvent>(CHANNELS.leaseWaitEnd);
export const leaseAcquireChannel = point<LeaseAcquireEvent>(CHANNELS.leaseAcquire);
export const leaseReleaseChannel = point<LeaseReleaseEvent>(CHANNELS.leaseRelease);
export const poolDownChannel = point<PoolStateEvent>(CHANNELS.poolDown);
export const poolUpChannel = point<PoolStateEvent>(CHANNELS.poolUp);
export const clusterRedirectionChannel = point<ClusterRedirectionEvent>(
  CHANNELS.clusterRedirection,
);
export const sentinelFailoverChannel = point<SentinelFailoverEvent>(CHANNELS.sentinelFailover);

/** Publishes a cluster's MOVED/ASK (called by the cluster router). */
export function publishRedirection(
  redirection: { kind: 'MOVED' | 'ASK'; slot: number; to: { host: string; port: number } },
  from: { host: string; port: number } | null | undefined,
): void {
  if (clusterRedirectionChannel.hasSubscribers) {
    clusterRedirectionChannel.publish({
      kind: redirection.kind,
      slot: redirection.slot,
      from: from == null ? '' : `${from.host}:${from.port}`,
      to: `${redirection.to.host}:${redirection.to.port}`,
    });
  }
}

/** Publishes a sentinel pool's switch to a new master. */
export function publishFailover(poolName: string, from: string, to: string): void {
  if (sentinelFailoverChannel.hasSubscribers) {
    sentinelFailoverChannel.publish({ poolName, from, to });
  }
}
