import { backoffDelay } from '../pool/backoff';
import type { RedisPool } from '../pool/redis-pool.interface';

/**
 * When a pub/sub subscriber leases a connection again: one retry at a time, after an exponential delay with
 * jitter that grows with each failure since the last connection held. While a connection is held or a retry is
 * pending, it listens for the pool's `closing` event, so that closing the pool stops the subscriber at once and
 * nothing is left running.
 */
export class ReconnectSchedule {
  private timer: NodeJS.Timeout | null = null;
  private failures = 0;
  private watching = false;

  constructor(
    private readonly pool: RedisPool,
    private readonly baseDelayMs: number,
    private readonly maxDelayMs: number,
    /** Called when the pool starts closing while this schedule watches it. */
    private readonly onPoolClosing: () => void,
  ) {}

  /** Runs `retry` after the next delay, unless a retry is already scheduled. */
  schedule(retry: () => void): void {
    if (this.timer !== null) return;
    this.failures++;
    this.watch();
    this.timer = setTimeout(
      () => {
        this.timer = null;
        retry();
      },
      backoffDelay(this.failures, this.baseDelayMs, this.maxDelayMs),
    );
  }

  /** A connection is held: no retry is pending, and the next failure waits the first delay again. */
  connected(): void {
    this.cancel();
    this.failures = 0;
    this.watch();
  }

  /** Nothing is held or wanted any more: no retry, no watching the pool. */
  stop(): void {
    this.cancel();
    if (!this.watching) return;
    this.watching = false;
    this.pool.off('closing', this.onPoolClosing);
  }

  private cancel(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  private watch(): void {
    if (this.watching) return;
    this.watching = true;
    this.pool.on('closing', this.onPoolClosing);
  }
}
