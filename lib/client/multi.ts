import type { Connection } from '../connection/connection';
import { prepareCommand } from '../connection/command-request';
import { unsupported } from '../connection/command-policy';
import { CommandNotAllowedError, ResponseError } from '../errors/redis-pool.errors';
import type { RedisReply } from '../protocol/resp.types';
import { raceAbort } from './abort';
import type { BatchTraceContext } from '../observability/command-context';
import { batchChannel } from '../observability/channels';
import {
  batchContext,
  batchTarget,
  resumeCommandTracing,
  suspendCommandTracing,
  traceBatch,
} from '../observability/trace';
import { sendInChunks, transformSettled, type Settled } from './command-batch';
import type { CommandSpec } from './command-runner';
import type { ConnectionSource } from './connection-source';
import type { BatchResults } from './pipeline';
import type { CallOptions } from './redis-client.types';
import { asArray, buffersToStrings } from './reply-transforms';
import { ScanCommands } from './scan-commands';

/**
 * A transaction: commands queued client-side, then sent as MULTI ... EXEC on one connection. `exec()` resolves
 * one result per command (run-time errors such as WRONGTYPE in place), or `null` when a watched key changed and
 * EXEC was aborted. Nothing reaches the server before `exec()`, so an unused `Multi` needs no DISCARD.
 */
export class Multi<R extends unknown[] = []> extends ScanCommands<'multi', R> {
  private queued: CommandSpec[] = [];

  /** @internal Made by `RedisService.multi()` or a leased client's `multi()`. */
  constructor(
    private readonly source: ConnectionSource,
    private readonly options: CallOptions,
    private readonly onAborted?: () => void,
  ) {
    super();
  }

  /** Commands queued and not yet sent. */
  get length(): number {
    return this.queued.length;
  }

  protected run<T>(spec: CommandSpec<T>): Multi<[...R, T | Error]> {
    this.queued.push(spec as CommandSpec);
    return this as unknown as Multi<[...R, T | Error]>;
  }

  /**
   * Runs MULTI, the queued commands and EXEC. Resolves the results in order, or `null` when EXEC was aborted by
   * WATCH. Rejects with the EXECABORT `ResponseError` (naming the command that failed to queue) when the server
   * refused a command before EXEC, in which case nothing ran. Rejects with `TypeError`, `RangeError` or
   * `CommandNotAllowedError` before sending anything when the client itself would refuse one of the commands.
   */
  exec(): Promise<BatchResults<R> | null> {
    const specs = this.queued;
    this.queued = [];
    if (!batchChannel.hasSubscribers) return this.execBatch(specs, undefined);
    const context = batchContext('MULTI', specs);
    return traceBatch(context, () => this.execBatch(specs, context));
  }

  private async execBatch(
    specs: CommandSpec[],
    context: BatchTraceContext | undefined,
  ): Promise<BatchResults<R> | null> {
    // A command the client would refuse mid-transaction (a bad argument, one over 512 MB, a refused command)
    // would leave EXEC with fewer results than commands: refuse the whole transaction before MULTI instead.
    for (const spec of specs) {
      const { name, sent } = prepareCommand(spec.command, spec.args);
      const refusal = unsupported(name, sent);
      if (refusal !== undefined) throw new CommandNotAllowedError(refusal);
    }
    const { signal } = this.options;
    if (this.source.lease !== undefined) {
      return this.source.lease(signal, specs, async (connection) => {
        let discard = false;
        try {
          return await this.execOn(connection, specs, () => {
            discard = true;
          });
        } finally {
          if (discard) connection.destroy();
        }
      });
    }
    const connection = await this.source.acquire(signal, specs);
    batchTarget(context, connection);
    let discard = false;
    try {
      return await this.execOn(connection, specs, () => {
        discard = true;
      });
    } finally {
      this.source.release(connection, discard);
    }
  }

  private async execOn(
    connection: Connection,
    specs: CommandSpec[],
    onAbort: () => void,
  ): Promise<BatchResults<R> | null> {
    const { timeoutMs, signal } = this.options;
    const buffers = specs.some((spec) => spec.buffers);
    suspendCommandTracing();
    const multi = connection.executeWith('MULTI', [], false, timeoutMs);
    resumeCommandTracing();
    multi.catch(() => undefined);
    let exec: Promise<RedisReply> | undefined;
    // Queuing replies are all 'QUEUED' or an error, so no buffer decoding is needed before EXEC.
    const plain = specs.map((spec) => (spec.buffers ? { ...spec, buffers: false } : spec));
    const queued = await sendInChunks(
      connection,
      plain,
      timeoutMs,
      signal,
      () => {
        exec = connection.executeWith<RedisReply>('EXEC', [], buffers, timeoutMs);
        exec.catch(() => undefined);
      },
      onAbort,
    );
    await multi;
    let reply: RedisReply;
    try {
      reply = await raceAbort(exec as Promise<RedisReply>, signal, onAbort);
    } catch (error) {
      throw execAbortError(error, specs, queued);
    }
    if (reply === null) {
      this.onAborted?.();
      return null;
    }
    const items = asArray(reply);
    const results: unknown[] = new Array<unknown>(specs.length);
    for (let i = 0; i < specs.length; i++) {
      let value: Settled = items[i];
      if (buffers && !specs[i].buffers && !(value instanceof Error))
        value = buffersToStrings(value);
      results[i] = transformSettled(specs[i], value);
    }
    return results as BatchResults<R>;
  }
}

/** EXECABORT made specific: which command the server refused to queue, and why. */
function execAbortError(error: unknown, specs: CommandSpec[], queued: Settled[]): unknown {
  if (!(error instanceof ResponseError) || error.code !== 'EXECABORT') return error;
  const index = queued.findIndex((value) => value instanceof ResponseError);
  if (index === -1) return error;
  const cause = queued[index] as ResponseError;
  const specific = new ResponseError(
    `${error.message.replace(/\.$/, '')}: command #${index + 1} (${specs[index].command}) was refused: ${cause.message}`,
  );
  specific.command = 'EXEC';
  return specific;
}
