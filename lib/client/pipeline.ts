import type { BatchTraceContext } from '../observability/command-context';
import { batchChannel } from '../observability/channels';
import { batchContext, batchTarget, traceBatch } from '../observability/trace';
import { sendInChunks, transformSettled, type Settled } from './command-batch';
import type { CommandSpec } from './command-runner';
import type { ConnectionSource } from './connection-source';
import type { CallOptions } from './redis-client.types';
import { ScanCommands } from './scan-commands';

/**
 * What `exec()` resolves: one entry per queued command, in order, each the helper's usual result or the `Error`
 * in its place. Typed as a tuple when the commands were chained (`pipeline().get(k).incr(n).exec()`), as
 * `unknown[]` when they were added one statement at a time.
 */
export type BatchResults<R extends unknown[]> = [] extends R ? unknown[] : R;

/**
 * Commands queued and sent together on one connection, in order, with one result per command and errors in
 * place: a failing command never throws the others' results away. Chain the same helpers as on `RedisService`
 * (`.set(...).get(...)`), then `exec()`.
 *
 * The batch runs on a connection leased for it (so its commands run in the order queued, which commands spread
 * over the pool's shared connections would not guarantee). A very large pipeline is written
 * `BATCH_CHUNK_SIZE` commands at a time, each round awaited, so memory stays bounded.
 */
export class Pipeline<R extends unknown[] = []> extends ScanCommands<'pipeline', R> {
  private queued: CommandSpec[] = [];

  /** @internal Made by `RedisService.pipeline()` or a leased client's `pipeline()`. */
  constructor(
    private readonly source: ConnectionSource,
    private readonly options: CallOptions,
  ) {
    super();
  }

  /** Commands queued and not yet sent. */
  get length(): number {
    return this.queued.length;
  }

  protected run<T>(spec: CommandSpec<T>): Pipeline<[...R, T | Error]> {
    this.queued.push(spec as CommandSpec);
    return this as unknown as Pipeline<[...R, T | Error]>;
  }

  /**
   * Sends every queued command and resolves with their results in order, errors in place. The queue is emptied,
   * so the pipeline may be filled and run again. Rejects only when no connection could be leased, or with
   * `AbortError` (the lease is then discarded).
   */
  exec(): Promise<BatchResults<R>> {
    const specs = this.queued;
    this.queued = [];
    if (!batchChannel.hasSubscribers) return this.execBatch(specs, undefined);
    const context = batchContext('PIPELINE', specs);
    return traceBatch(context, () => this.execBatch(specs, context));
  }

  private async execBatch(
    specs: CommandSpec[],
    context: BatchTraceContext | undefined,
  ): Promise<BatchResults<R>> {
    const { signal, timeoutMs } = this.options;
    if (this.source.sendBatch !== undefined) {
      return this.resultsOf(specs, await this.source.sendBatch(specs, timeoutMs, signal));
    }
    const connection = await this.source.acquire(signal, specs);
    batchTarget(context, connection);
    let discard = false;
    try {
      const settled = await sendInChunks(connection, specs, timeoutMs, signal, undefined, () => {
        discard = true;
      });
      return this.resultsOf(specs, settled);
    } finally {
      this.source.release(connection, discard);
    }
  }

  private resultsOf(specs: readonly CommandSpec[], settled: readonly Settled[]): BatchResults<R> {
    const results: unknown[] = new Array<unknown>(specs.length);
    for (let i = 0; i < specs.length; i++) results[i] = transformSettled(specs[i], settled[i]);
    return results as BatchResults<R>;
  }
}
