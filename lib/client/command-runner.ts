import type { RedisArgument, RedisReply } from '../protocol/resp.types';
import type { Chained, ChainKind, CommandSpec } from './command-types';
import type { Transform } from './reply-transforms';

// Re-exported for the files that import them from here.
export type { Chained, ChainKind, CommandSpec } from './command-types';

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
