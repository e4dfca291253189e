import type { EventEmitter } from 'node:events';

function rethrow(error: unknown): never {
  throw error;
}

/**
 * Emits an event whose listeners are user code, from a place that must not be interrupted (a decoder's loop, a
 * pool's bookkeeping). A listener that throws cannot break the caller: its error is rethrown on the next tick,
 * outside, where it surfaces as an uncaught exception the way Node reports a throwing listener.
 */
export function emitSafely(emitter: EventEmitter, event: string, ...args: unknown[]): void {
  try {
    emitter.emit(event, ...args);
  } catch (error) {
    process.nextTick(rethrow, error);
  }
}
