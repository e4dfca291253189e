import type { Multi } from './multi';
import type { Pipeline } from './pipeline';

/*
 * Completes `ChainTargets` (declared in `command-types.ts`) with the batch classes. It lives apart because
 * `Pipeline` and `Multi` extend the helper chain: only a file outside the chain may import them. `scan-iterator.ts`
 * (the base of `RedisService` and `LeasedClient`, which make every pipeline and transaction) imports this file,
 * and so does the barrel, so every program that can reach a `Pipeline` or a `Multi` sees these members.
 */
declare module './command-types' {
  interface ChainTargets<R extends unknown[], T> {
    pipeline: Pipeline<[...R, T | Error]>;
    multi: Multi<[...R, T | Error]>;
  }
}

export type { ChainTargets } from './command-types';
