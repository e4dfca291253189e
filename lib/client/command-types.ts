import type { RedisArgument } from '../protocol/resp.types';
import type { Transform } from './reply-transforms';

/*
 * The types every command helper shares. This file imports nothing from the helper chain (the `*-commands.ts`
 * classes, `Pipeline`, `Multi`, `RedisService`), so the chain can depend on it without a cycle.
 */

/** Where a command helper sends its command: run it now, or queue it on a pipeline or a transaction. */
export type ChainKind = 'service' | 'pipeline' | 'multi';

/**
 * What a helper returns for each `ChainKind`, given the results `R` queued before it and its own result `T`.
 * Only `service` is declared here: `pipeline` and `multi` name the `Pipeline` and `Multi` classes, which are
 * built from the helpers, so `chain-targets.ts` adds them by declaration merging (naming them here would make
 * the chain import itself).
 */
// eslint-disable-next-line @typescript-eslint/no-unused-vars -- `R` is used by the merged declarations.
export interface ChainTargets<R extends unknown[], T> {
  service: Promise<T>;
}

/**
 * What a command helper returns: the reply's promise on `RedisService` (and a leased client), or the pipeline or
 * transaction itself, typed with one more result, so that chained calls stay typed up to `exec()`.
 */
export type Chained<K extends ChainKind, R extends unknown[], T> = ChainTargets<R, T>[K];

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
