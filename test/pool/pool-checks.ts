import { randomUUID } from 'node:crypto';
import type { ConnectionPool } from '../../lib/pool/connection-pool';
import type { RedisServerHandle } from '../harness';

/**
 * The checks every fault scenario ends with: nothing crashed (no unhandled rejection), every caller's promise
 * settled, the next command gets its own reply, and nothing is left open after `disconnect()`.
 */
export function watchUnhandledRejections(): () => unknown[] {
  const seen: unknown[] = [];
  const listener = (reason: unknown) => seen.push(reason);
  beforeAll(() => process.on('unhandledRejection', listener));
  afterAll(() => {
    process.off('unhandledRejection', listener);
  });
  afterEach(() => {
    expect(seen).toEqual([]);
  });
  return () => seen;
}

/** Settles every promise within `withinMs`, or fails naming how many were still pending. */
export async function settleAll<T>(
  promises: Array<Promise<T>>,
  withinMs: number,
): Promise<Array<PromiseSettledResult<T>>> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(new Error(`promises still pending after ${withinMs} ms`));
    }, withinMs);
  });
  try {
    return await Promise.race([Promise.allSettled(promises), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** A fresh key and value, SET then GET: the reply must be this very value. */
export async function expectOwnReply(pool: ConnectionPool): Promise<void> {
  const key = `own:${randomUUID()}`;
  const value = randomUUID();
  await expect(pool.executeCommand('SET', key, value)).resolves.toBe('OK');
  await expect(pool.executeCommand('GET', key)).resolves.toBe(value);
}

/** The server's connections carrying this client name (the pool under test names its connections). */
export async function serverConnections(
  server: RedisServerHandle,
  clientName: string,
): Promise<number> {
  const clients = await server.clientList();
  return clients.filter((c) => c.name === clientName).length;
}

/** After `disconnect()`: the pool counts nothing and the server lists none of its connections. */
export async function expectNothingOpen(
  pool: ConnectionPool,
  server: RedisServerHandle | null,
  clientName: string,
): Promise<void> {
  await pool.disconnect();
  expect(pool.stats()).toMatchObject({
    total: 0,
    leased: 0,
    connecting: 0,
    pending: 0,
    waiting: 0,
  });
  if (server !== null && server.running && !server.frozen) {
    // The server notices a closed socket on its next event-loop turn; allow it a moment.
    for (let i = 0; i < 50 && (await serverConnections(server, clientName)) > 0; i++)
      await sleep(20);
    expect(await serverConnections(server, clientName)).toBe(0);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A unique client name per pool, so CLIENT LIST can tell its connections apart. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}
