import { timerDelay } from '../utils/deadline';

/** How often the sentinels are asked again while commands wait for a failover to finish. */
export const PAUSE_POLL_MS = 200;

/**
 * The waits of a failover: commands paused from a replica's promotion until the switch (bounded, and asking the
 * sentinels again every {@link PAUSE_POLL_MS} meanwhile, since the paused callers cannot), and the backoff
 * sleeps of commands retrying a master, which a switch ends at once.
 */
export class FailoverPause {
  private paused: {
    promise: Promise<void>;
    resume: () => void;
    timer: NodeJS.Timeout;
    poll: NodeJS.Timeout;
  } | null = null;
  private readonly sleepers = new Set<() => void>();

  constructor(
    /** Longest pause: a failover that never reports its end cannot hold commands past this. */
    private readonly maxPauseMs: number,
    /** Asks the sentinels where the master is. */
    private readonly recheck: () => void,
  ) {}

  /** What paused commands wait for, or `null` when nothing is paused. */
  get waiting(): Promise<void> | null {
    return this.paused?.promise ?? null;
  }

  /** Pauses new commands (when not already paused). */
  start(): void {
    if (this.paused !== null) return;
    let resume!: () => void;
    const promise = new Promise<void>((resolve) => (resume = resolve));
    const timer = setTimeout(() => this.end(), timerDelay(this.maxPauseMs)).unref();
    const poll = setInterval(this.recheck, PAUSE_POLL_MS).unref();
    this.paused = { promise, resume, timer, poll };
  }

  /** Lets paused commands go on, and wakes every sleeping retry (the master changed, or the failover ended). */
  end(): void {
    for (const wake of [...this.sleepers]) wake();
    const paused = this.paused;
    if (paused === null) return;
    this.paused = null;
    clearTimeout(paused.timer);
    clearInterval(paused.poll);
    paused.resume();
  }

  /** Waits `delayMs`, or less when `end()` is called first. */
  sleep(delayMs: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = (): void => {
        clearTimeout(timer);
        this.sleepers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, timerDelay(delayMs)).unref();
      this.sleepers.add(wake);
    });
  }
}
