import * as dc from 'node:diagnostics_channel';

/** One event heard on a channel, with a copy of the context as it was then. */
export interface Heard {
  channel: string;
  phase: 'start' | 'end' | 'asyncStart' | 'asyncEnd' | 'error' | 'point';
  context: Record<string, unknown>;
  /** The very context object (the same one across a trace's phases). */
  raw: object;
}

/** Subscribes to TracingChannels and point channels and records what they publish; `stop()` unsubscribes. */
export function recordChannels(tracing: string[], points: string[] = []) {
  const heard: Heard[] = [];
  const undo: Array<() => void> = [];
  for (const name of tracing) {
    const channel = dc.tracingChannel(name);
    const on = (phase: Heard['phase']) => (context: object) => {
      heard.push({ channel: name, phase, context: { ...context }, raw: context });
    };
    const handlers: dc.TracingChannelSubscribers<object> = {
      start: on('start'),
      end: on('end'),
      asyncStart: on('asyncStart'),
      asyncEnd: on('asyncEnd'),
      error: on('error'),
    };
    channel.subscribe(handlers);
    undo.push(() => channel.unsubscribe(handlers));
  }
  for (const name of points) {
    const handler = (message: unknown) =>
      heard.push({
        channel: name,
        phase: 'point',
        context: { ...(message as object) },
        raw: message as object,
      });
    dc.subscribe(name, handler);
    undo.push(() => dc.unsubscribe(name, handler));
  }
  return {
    heard,
    of: (channel: string, phase?: Heard['phase']) =>
      heard.filter((h) => h.channel === channel && (phase === undefined || h.phase === phase)),
    stop: () => {
      for (const u of undo) u();
    },
  };
}

/** Every string reachable from a value (keys and values), for "no secret anywhere" checks. */
export function allStrings(value: unknown, seen = new Set<unknown>()): string[] {
  if (typeof value === 'string') return [value];
  if (typeof value === 'number' || typeof value === 'bigint') return [String(value)];
  if (value === null || typeof value !== 'object' || seen.has(value)) return [];
  seen.add(value);
  if (Buffer.isBuffer(value)) return [value.toString('utf8')];
  const out: string[] = [];
  if (value instanceof Error) out.push(value.message, String(value.stack ?? ''));
  for (const [k, v] of Object.entries(value)) out.push(k, ...allStrings(v, seen));
  return out;
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `check` until it returns true or `withinMs` passes. */
export async function eventually(check: () => boolean, withinMs = 5000): Promise<void> {
  const until = Date.now() + withinMs;
  while (!check()) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await sleep(10);
  }
}
