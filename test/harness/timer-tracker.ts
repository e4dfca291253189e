import { runInThisContext } from 'node:vm';

/** One timer created while a {@link TimerTracker} was running. */
export interface TrackedTimer {
  kind: 'timeout' | 'interval';
  /** The delay as passed to `setTimeout`/`setInterval`, before Node clamps it. */
  delay: number;
  /** The handle, to ask `hasRef()`. */
  handle: NodeJS.Timeout;
  /** Where it was created, for failure messages. */
  stack: string;
}

/** What {@link trackTimers} returns. */
export interface TimerTracker {
  /** Timers created since tracking began (or since `reset()`) that are still armed, unreferenced ones too. */
  live(): TrackedTimer[];
  /** How many timers were created since tracking began (or since `reset()`). */
  created(): number;
  /** The delays passed since tracking began (or since `reset()`), in creation order. */
  delays(): number[];
  /** Forgets every timer seen so far; later counts start from zero. */
  reset(): void;
  /** Puts the real `setTimeout`/`setInterval`/`clearTimeout`/`clearInterval` back. Idempotent. */
  stop(): void;
}

/**
 * Wraps the global timer functions to see every timer the code under test creates, including unreferenced ones
 * (`process.getActiveResourcesInfo()` lists only referenced timers). The real timers still run: only the
 * bookkeeping is added. Timers created before the call, or by `node:timers` imports, are not seen.
 */
export function trackTimers(): TimerTracker {
  const real = {
    setTimeout: globalThis.setTimeout,
    setInterval: globalThis.setInterval,
    clearTimeout: globalThis.clearTimeout,
    clearInterval: globalThis.clearInterval,
  };
  let live = new Map<NodeJS.Timeout, TrackedTimer>();
  let delays: number[] = [];
  let stopped = false;

  const record = (kind: TrackedTimer['kind'], handle: NodeJS.Timeout, delay: unknown): void => {
    const ms = typeof delay === 'number' ? delay : Number(delay ?? 0);
    delays.push(ms);
    live.set(handle, { kind, delay: ms, handle, stack: new Error('timer created').stack ?? '' });
  };
  const forget = (handle: unknown): void => {
    if (handle !== null && typeof handle === 'object') live.delete(handle as NodeJS.Timeout);
  };

  const patchedSetTimeout = (
    callback: (...args: unknown[]) => void,
    delay?: number,
    ...args: unknown[]
  ): NodeJS.Timeout => {
    const wrapped = (...callArgs: unknown[]): void => {
      // Runs only after setTimeout returned, so `handle` is set by then.
      live.delete(handle);
      callback(...callArgs);
    };
    const handle = real.setTimeout(wrapped, delay, ...args);
    record('timeout', handle, delay);
    return handle;
  };
  const patchedSetInterval = (
    callback: (...args: unknown[]) => void,
    delay?: number,
    ...args: unknown[]
  ): NodeJS.Timeout => {
    const handle = real.setInterval(callback, delay, ...args);
    record('interval', handle, delay);
    return handle;
  };
  const patchedClearTimeout = (handle?: NodeJS.Timeout | string | number): void => {
    forget(handle);
    real.clearTimeout(handle);
  };
  const patchedClearInterval = (handle?: NodeJS.Timeout | string | number): void => {
    forget(handle);
    real.clearInterval(handle);
  };

  const g = globalThis as unknown as Record<string, unknown>;
  g.setTimeout = patchedSetTimeout;
  g.setInterval = patchedSetInterval;
  g.clearTimeout = patchedClearTimeout;
  g.clearInterval = patchedClearInterval;

  return {
    live: () => [...live.values()],
    created: () => delays.length,
    delays: () => [...delays],
    reset: () => {
      live = new Map();
      delays = [];
    },
    stop: () => {
      if (stopped) return;
      stopped = true;
      g.setTimeout = real.setTimeout;
      g.setInterval = real.setInterval;
      g.clearTimeout = real.clearTimeout;
      g.clearInterval = real.clearInterval;
    },
  };
}

/** Referenced `Timeout` resources of the process, as `process.getActiveResourcesInfo()` counts them. */
export function activeTimeouts(): number {
  return process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length;
}

/**
 * Collects the process warnings named `name` (e.g. `TimeoutOverflowWarning`) until `stop()`. Listens on the real
 * `process`: under jest the test's `process` is a copy that Node's own warnings never reach.
 */
export function collectProcessWarnings(name: string): { seen: Error[]; stop(): void } {
  const realProcess = runInThisContext('process') as NodeJS.Process;
  const seen: Error[] = [];
  const listener = (warning: Error) => {
    if (warning.name === name) seen.push(warning);
  };
  realProcess.on('warning', listener);
  return { seen, stop: () => realProcess.off('warning', listener) };
}
