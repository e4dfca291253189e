/** Options of `new BullMqClient(redis, options)`; duplicates inherit them. */
export interface BullMqClientOptions {
  /**
   * Backoff between attempts to take a `duplicate()`'s lease again after it was lost (Redis restarted, the socket
   * failed) or could not be taken (Redis down, every lease of the `maxLeases` budget held): exponential from
   * `baseDelayMs` up to `maxDelayMs`, with jitter.
   * @default { baseDelayMs: 100, maxDelayMs: 2000 }
   */
  reconnect?: { baseDelayMs?: number; maxDelayMs?: number };
}

/** The options with every default applied. */
export interface ResolvedBullMqClientOptions {
  reconnect: { baseDelayMs: number; maxDelayMs: number };
}

/** The defaults, as the JSDoc of `BullMqClientOptions` states them. */
export const BULLMQ_CLIENT_DEFAULTS: ResolvedBullMqClientOptions = {
  reconnect: { baseDelayMs: 100, maxDelayMs: 2000 },
};

function positive(value: unknown, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new TypeError(`BullMqClient: ${name} must be a positive number of milliseconds`);
  }
  return value;
}

/** @throws TypeError for a delay that is not a positive number. */
export function resolveBullMqClientOptions(
  options: BullMqClientOptions = {},
): ResolvedBullMqClientOptions {
  const defaults = BULLMQ_CLIENT_DEFAULTS.reconnect;
  const reconnect = options.reconnect ?? {};
  const baseDelayMs = positive(
    reconnect.baseDelayMs,
    'reconnect.baseDelayMs',
    defaults.baseDelayMs,
  );
  const maxDelayMs = positive(
    reconnect.maxDelayMs,
    'reconnect.maxDelayMs',
    Math.max(defaults.maxDelayMs, baseDelayMs),
  );
  if (maxDelayMs < baseDelayMs) {
    throw new TypeError(
      'BullMqClient: reconnect.maxDelayMs must not be below reconnect.baseDelayMs',
    );
  }
  return { reconnect: { baseDelayMs, maxDelayMs } };
}
