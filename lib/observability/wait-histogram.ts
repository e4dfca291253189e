/** Buckets per doubling: percentiles are exact to within 19 %. */
const STEPS_PER_DOUBLING = 4;
/** Values are counted in tenths of a millisecond; bucket 0 holds everything under 0.1 ms (reported as 0). */
const UNITS_PER_MS = 10;
const BUCKETS = 1 + STEPS_PER_DOUBLING * 32;

/** How long one window lasts; percentiles cover the current and the previous one (one to two windows). */
export const WAIT_WINDOW_MS = 60_000;

function bucketOf(ms: number): number {
  const units = ms * UNITS_PER_MS;
  if (!(units >= 1)) return 0;
  return Math.min(BUCKETS - 1, 1 + Math.floor(STEPS_PER_DOUBLING * Math.log2(units)));
}

function upperBoundMs(bucket: number): number {
  return bucket === 0 ? 0 : 2 ** (bucket / STEPS_PER_DOUBLING) / UNITS_PER_MS;
}

/**
 * Durations (lease waits) in log-scaled buckets over a sliding window of one to two minutes: recording is a
 * `Math.log2` and two increments, no allocation; percentiles read a few hundred integers.
 */
export class WaitHistogram {
  private current = new Uint32Array(BUCKETS);
  private previous = new Uint32Array(BUCKETS);
  private windowStart = Date.now();
  private currentMax = 0;
  private previousMax = 0;
  /** Every duration recorded since the pool started. */
  count = 0;

  record(ms: number, now = Date.now()): void {
    this.rotate(now);
    this.current[bucketOf(ms)]++;
    if (ms > this.currentMax) this.currentMax = ms;
    this.count++;
  }

  /** The `q`-quantile (0–1) of the window in milliseconds, rounded up to its bucket; 0 with nothing recorded. */
  percentile(q: number, now = Date.now()): number {
    this.rotate(now);
    let total = 0;
    for (let i = 0; i < BUCKETS; i++) total += this.current[i] + this.previous[i];
    if (total === 0) return 0;
    const rank = Math.max(1, Math.ceil(q * total));
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.current[i] + this.previous[i];
      if (seen >= rank) return Math.min(round(upperBoundMs(i)), this.max(now));
    }
    return this.max(now);
  }

  /** The longest duration in the window. */
  max(now = Date.now()): number {
    this.rotate(now);
    return round(Math.max(this.currentMax, this.previousMax));
  }

  private rotate(now: number): void {
    const elapsed = now - this.windowStart;
    if (elapsed < WAIT_WINDOW_MS) return;
    if (elapsed >= 2 * WAIT_WINDOW_MS) {
      this.previous.fill(0);
      this.previousMax = 0;
    } else {
      const swap = this.previous;
      this.previous = this.current;
      this.previousMax = this.currentMax;
      this.current = swap;
    }
    this.current.fill(0);
    this.currentMax = 0;
    this.windowStart = now - (elapsed % WAIT_WINDOW_MS);
  }
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}
