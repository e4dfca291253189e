import type { RedisArgument, RedisReply } from '../protocol/resp.types';
import { argumentsError, tooManyArguments } from './argument-checks';
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

  /**
   * Whether commands are queued for a later `exec()` (pipelines, transactions) rather than sent at once. A queued
   * command's arguments are checked when it is queued: the encoder would refuse a bad one only inside the batch,
   * where the commands around it would still run (a transaction would run without it). Commands sent at once are
   * checked by the encoder, before anything is queued.
   */
  protected get queues(): boolean {
    return true;
  }

  /**
   * Refuses a call before anything is queued or sent. A pipeline or a transaction throws at the call, so nothing
   * of the refused command reaches the batch; `RedisService` and leased clients return the rejected promise, as
   * for every other error.
   */
  protected refuse<T>(error: Error): Chained<K, R, T> {
    throw error;
  }

  /** Refuses a call with more arguments than the helper takes: they are never ignored. */
  protected tooMany<T>(helper: string, given: number, max: number): Chained<K, R, T> {
    return this.refuse(tooManyArguments(helper, given, max));
  }

  /** Builds a spec and runs it. */
  protected send<T>(
    command: string,
    args: RedisArgument[],
    transform?: Transform<T>,
    buffers = false,
    blocking = false,
  ): Chained<K, R, T> {
    if (this.queues) {
      const error = argumentsError(command, args);
      if (error !== undefined) return this.refuse(error);
    }
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
