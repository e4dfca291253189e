import type { FlowProducer, Queue, QueueEvents, Worker } from 'bullmq';
import type { RedisServerHandle } from '../harness';

/** Anything of BullMQ's that must be closed at the end of a test. */
type Closable = Queue | Worker | QueueEvents | FlowProducer;

/** Keeps BullMQ objects made by a test so `closeAll()` closes them (workers first) even when it failed. */
export class Closer {
  private readonly items: Closable[] = [];

  add<T extends Closable>(item: T): T {
    this.items.push(item);
    return item;
  }

  async closeAll(): Promise<void> {
    const items = this.items.splice(0);
    const rank = (item: Closable): number => (isWorker(item) ? 0 : 1);
    items.sort((a, b) => rank(a) - rank(b));
    for (const item of items) await item.close();
  }
}

function isWorker(item: Closable): item is Worker {
  return typeof (item as Worker).isRunning === 'function';
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Polls `check` every 20 ms until it is true; fails after `timeoutMs`, naming `what` (and the last error, a
 * check that threw counting as not yet true: Redis may be restarting).
 */
export async function eventually(
  check: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      if (await check()) return;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`, { cause: lastError });
    }
    await sleep(20);
  }
}

let counter = 0;
/** A queue name unique within the run (BullMQ names may not hold ':'). */
export function queueName(prefix: string): string {
  counter += 1;
  return `${prefix}-${process.pid}-${counter}`;
}

/** Names of the connections the server sees (apart from the harness's redis-cli), `''` for unnamed ones. */
export async function clientNames(server: RedisServerHandle): Promise<string[]> {
  return (await server.clientList()).map((client) => client.name ?? '');
}

/** Counts how often each key was seen. */
export class Tally {
  readonly counts = new Map<string, number>();

  hit(key: string): void {
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
  }

  /** Keys seen more than once. */
  repeated(): string[] {
    return [...this.counts].filter(([, n]) => n > 1).map(([key]) => key);
  }

  get size(): number {
    return this.counts.size;
  }
}
