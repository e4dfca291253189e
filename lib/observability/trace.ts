import type { ConnectionOptions } from '../connection/connection-options';
import { commandWords, sentArgs, type CommandWords } from '../protocol/command-name';
import type { RedisArgument } from '../protocol/resp.types';
import { batchChannel, commandChannel, connectChannel } from './channels';
import type {
  BatchTraceContext,
  CommandTraceContext,
  ConnectionTelemetry,
} from './command-context';
import { targetOf } from './server-target';
import { queryText, redactArgs } from './redact';

/*
 * The TracingChannel side: each helper is called only after the caller checked `hasSubscribers`, and none
 * allocates a closure (the work is passed as arguments to a module-level function).
 */

/** Commands sent inside a batch are traced as the batch, not one by one (see `untraced`). */
let untracedDepth = 0;

/** Whether a command sent now on a leased connection gets its own trace. */
export function commandTracing(): boolean {
  return untracedDepth === 0 && commandChannel.hasSubscribers;
}

/**
 * Turns per-command tracing off for the commands a batch sends in the same synchronous stretch (pair it with
 * `resumeCommandTracing` in a `finally`): the batch is traced as one operation.
 */
export function suspendCommandTracing(): void {
  untracedDepth++;
}

/** See `suspendCommandTracing`. */
export function resumeCommandTracing(): void {
  untracedDepth--;
}

function passThrough<T>(promise: Promise<T>): Promise<T> {
  return promise;
}

interface Dispatcher<R> {
  dispatch(request: R): void;
}

function dispatchAndSettle<R, T>(dispatcher: Dispatcher<R>, request: R, settled: Promise<T>) {
  dispatcher.dispatch(request);
  return settled;
}

/**
 * Traces a shared-path command: `start` is published before it is dispatched, so work it starts (a connection
 * being opened) runs inside its context.
 */
export function traceDispatch<R, T>(
  telemetry: ConnectionTelemetry,
  name: string,
  args: readonly RedisArgument[],
  dispatcher: Dispatcher<R>,
  request: R,
  settled: Promise<T>,
): Promise<T> {
  const context = telemetry.commandContext(name, args);
  return commandChannel.tracePromise(
    dispatchAndSettle<R, T>,
    context,
    undefined,
    dispatcher,
    request,
    settled,
  );
}

/** Traces a command on a leased connection. */
export function traceLeased<T>(
  settled: Promise<T>,
  options: ConnectionOptions,
  connectionId: number,
  name: string,
  args: readonly RedisArgument[],
): Promise<T> {
  const telemetry = options.telemetry;
  const context: CommandTraceContext =
    telemetry !== undefined
      ? telemetry.commandContext(name, args, connectionId)
      : {
          ...targetOf(options, ''),
          command: name,
          args: redactArgs(name, args),
          connectionId,
        };
  return commandChannel.tracePromise(passThrough<T>, context, undefined, settled);
}

/** Traces a connection being opened (connect and handshake). */
export function traceConnect(
  ready: Promise<void>,
  connection: { readonly id: number },
  options: ConnectionOptions,
): Promise<void> {
  const target = options.telemetry ?? targetOf(options, '');
  return connectChannel.tracePromise(
    passThrough<void>,
    {
      serverAddress: target.serverAddress,
      serverPort: target.serverPort,
      database: target.database,
      poolName: target.poolName,
      connectionId: connection.id,
    },
    undefined,
    ready,
  );
}

/** A connection's `whenReady()`, traced on `nestjs-redis-pool:connect` when someone subscribed. */
export function whenReadyTraced(
  connection: { readonly id: number; whenReady(): Promise<void> },
  options: ConnectionOptions,
): Promise<void> {
  const ready = connection.whenReady();
  return connectChannel.hasSubscribers ? traceConnect(ready, connection, options) : ready;
}

/** A command as a batch holds it. */
interface BatchSpec {
  command: string;
  args: readonly RedisArgument[];
}

/** The context of a batch; its server fields are filled by `batchTarget` once it has a connection. */
export function batchContext(
  batchMode: 'PIPELINE' | 'MULTI',
  specs: readonly BatchSpec[],
): BatchTraceContext {
  const commands = new Array<string>(specs.length);
  for (let i = 0; i < specs.length; i++) {
    let words: CommandWords;
    try {
      words = commandWords(specs[i].command);
    } catch {
      commands[i] = '(invalid command name)';
      continue;
    }
    commands[i] = queryText(words.name, redactArgs(words.name, sentArgs(words, specs[i].args)));
  }
  return {
    batchMode,
    batchSize: specs.length,
    commands,
    serverAddress: '',
    serverPort: undefined,
    database: 0,
    poolName: '',
    connectionId: undefined,
  };
}

/** Fills a batch's server fields from the connection it runs on. */
export function batchTarget(
  context: BatchTraceContext | undefined,
  connection: { readonly id: number; readonly telemetry: ConnectionTelemetry | undefined },
): void {
  if (context === undefined) return;
  const telemetry = connection.telemetry;
  context.connectionId = connection.id;
  if (telemetry === undefined) return;
  context.serverAddress = telemetry.serverAddress;
  context.serverPort = telemetry.serverPort;
  context.database = telemetry.database;
  context.poolName = telemetry.poolName;
}

/** Runs a batch inside its trace. */
export function traceBatch<T>(context: BatchTraceContext, run: () => Promise<T>): Promise<T> {
  return batchChannel.tracePromise(run, context);
}
