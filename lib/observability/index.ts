/*
 * The diagnostics-channel surface, re-exported by the main entry point: channel names and payload types for
 * APM agents that subscribe without this package's OpenTelemetry bridge.
 */
export { CHANNELS } from './channels';
export type {
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
  ServerTarget,
} from './command-context';
export { redactArgs } from './redact';
