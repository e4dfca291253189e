import type { Connection } from '../connection/connection';
import { resumeCommandTracing, suspendCommandTracing } from '../observability/trace';
import type { RedisReply } from '../protocol/resp.types';
import { raceAbort } from './abort';
import type { CommandSpec } from './command-runner';

/**
 * Commands written per round of a large batch. Each round is issued in one event-loop turn (so it leaves in one
 * socket write) and awaited before the next, which bounds the memory a huge pipeline holds in flight.
 * @default 10_000
 */
export const BATCH_CHUNK_SIZE = 10_000;

/** What a batch command settled with: the raw reply, or the error in its place. */
export type Settled = RedisReply | Error;

/** Any thrown value as an `Error`. */
export function toError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

/**
 * Sends `specs` on `connection` in chunks of `BATCH_CHUNK_SIZE`, in order, each chunk awaited before the next.
 * `beforeLast` runs in the same turn as the last chunk's commands (EXEC follows them in the same write).
 * Resolves with one settled value per command; rejects only with `AbortError`.
 */
export async function sendInChunks(
  connection: Connection,
  specs: readonly CommandSpec[],
  timeoutMs: number | undefined,
  signal: AbortSignal | undefined,
  beforeLast?: () => void,
  onAbort?: () => void,
): Promise<Settled[]> {
  const settled: Settled[] = new Array<Settled>(specs.length);
  let start = 0;
  do {
    const end = Math.min(specs.length, start + BATCH_CHUNK_SIZE);
    const round: Array<Promise<void>> = [];
    // The batch is traced as one operation (nestjs-redis-pool:batch), not command by command.
    suspendCommandTracing();
    try {
      for (let i = start; i < end; i++) {
        const spec = specs[i];
        round.push(
          connection.executeWith<RedisReply>(spec.command, spec.args, spec.buffers, timeoutMs).then(
            (reply) => {
              settled[i] = reply;
            },
            (error: unknown) => {
              settled[i] = toError(error);
            },
          ),
        );
      }
      if (end === specs.length) beforeLast?.();
    } finally {
      resumeCommandTracing();
    }
    await raceAbort(Promise.all(round), signal, onAbort);
    start = end;
  } while (start < specs.length);
  return settled;
}

/** Applies a command's transform to its reply; a reply that does not fit becomes the error in its place. */
export function transformSettled(spec: CommandSpec, value: Settled): unknown {
  if (value instanceof Error || spec.transform === undefined) return value;
  try {
    return spec.transform(value);
  } catch (error) {
    return toError(error);
  }
}
