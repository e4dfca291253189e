import type { RedisArgument, RedisReply } from '../protocol/resp.types';
import type { Multi } from './multi';
import type { Pipeline } from './pipeline';
import type { Transform } from './reply-transforms';

/** Where a command helper sends its command: run it now, or queue it on a pipeline or a transaction. */
export type ChainKind = 'service' | 'pipeline' | 'multi';

/**
 * What a command helper returns: the reply's promise on `RedisService` (and a leased client), or the pipeline or
 * transaction itself, typed with one more result, so that chained calls stay typed up to `exec()`.
 */
export type Chained<K extends ChainKind, R extends unknown[], T> = K extends 'service'
  ? Promise<T>
  : K extends 'pipeline'
    ? Pipeline<[...R, T | Error]>
    : Multi<[...R, T | Error]>;

/** One command as a helper describes it. */
export interface CommandSpec<T = unknown> {
  /** The command name (`'GET'`, `'XGROUP CREATE'`...). */
  command: string;
  args: RedisArgument[];
  /** Maps the raw reply to the helper's return shape; `undefined` passes it through. */
  transform: Transform<T> | undefined;
  /** Decode the reply's strings as Buffers. */
  buffers: boolean;
  /** Blocks its connection (BLPOP, XREAD BLOCK...): it must run on a leased connection. */
  blocking: boolean;
}

/**
 * The root of the command helpers. Each command family is an abstract class extending the previous one, and each
 * concrete class (`RedisService`, `LeasedClient`, `Pipeline`, `Multi`) decides what running a command means.
 */
export abstract class CommandRunner<K extends ChainKind, R extends unknown[]> {
  /** Runs or queues one command. */
  protected abstract run<T>(spec: CommandSpec<T>): Chained<K, R, T>;

  /** Builds a spec and runs it. */
  protected send<T>(
    command: string,
    args: RedisArgument[],
    transform?: Transform<T>,
    buffers = false,
    blocking = false,
  ): Chained<K, R, T> {
    return this.run<T>({ command, args, transform, buffers, blocking });
  }

  /**
   * Any Redis command, with the same semantics as the pool's `executeCommand`: the reply as decoded
   * (`RedisReply`), error replies as a rejected `ResponseError`. Blocking and stateful commands are refused on
   * the shared path with `CommandNotAllowedError` (use `withConnection`).
   */
  executeCommand<T = RedisReply>(command: string, ...args: RedisArgument[]): Chained<K, R, T> {
    return this.send<T>(command, args);
  }

  /** `executeCommand` with the reply's strings decoded as Buffers. */
  executeCommandBuffer<T = RedisReply>(
    command: string,
    ...args: RedisArgument[]
  ): Chained<K, R, T> {
    return this.send<T>(command, args, undefined, true);
  }
}
