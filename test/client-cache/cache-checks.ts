import { Connection } from '../../lib/connection/connection';
import type { RedisReply } from '../../lib/protocol/resp.types';

type Waiter = { key: string | null; resolve: () => void };

function text(value: RedisReply | undefined): string {
  return Buffer.isBuffer(value) ? value.toString('utf8') : String(value);
}

/**
 * Observes the invalidation pushes every `Connection` receives, after its own listeners (the cache's) ran, so a
 * test can wait for the push itself instead of sleeping. Also collects every connection opened.
 */
export function watchConnections(): {
  /** Resolves after the next invalidation push naming `key` (`null`: a flush) was handled. */
  invalidated(key: string | null): Promise<void>;
  /** Every connection opened since the test began. */
  opened(): Connection[];
} {
  const waiters: Waiter[] = [];
  let connections: Connection[] = [];
  const emit = Connection.prototype.emit;
  const open = Object.getOwnPropertyDescriptor(Connection, 'open') as PropertyDescriptor;
  beforeAll(() => {
    Connection.prototype.emit = function (this: Connection, event: string | symbol, ...args) {
      const result = emit.call(this, event, ...args);
      const frame = args[0] as RedisReply[];
      if (event === 'push' && text(frame[0]) === 'invalidate') {
        const keys = Array.isArray(frame[1]) ? frame[1].map(text) : null;
        for (const waiter of [...waiters]) {
          if (waiter.key === null ? keys === null : keys?.includes(waiter.key) === true) {
            waiters.splice(waiters.indexOf(waiter), 1);
            waiter.resolve();
          }
        }
      }
      return result;
    };
    Connection.open = (options) => {
      const connection = (open.value as typeof Connection.open).call(Connection, options);
      connections.push(connection);
      return connection;
    };
  });
  beforeEach(() => {
    connections = [];
  });
  afterAll(() => {
    Connection.prototype.emit = emit;
    Object.defineProperty(Connection, 'open', open);
  });
  return {
    invalidated: (key) => new Promise((resolve) => waiters.push({ key, resolve })),
    opened: () => connections,
  };
}

/** How many times the server ran `command` (from INFO commandstats). */
export function commandCalls(info: string, command: string): number {
  const match = new RegExp(`cmdstat_${command.toLowerCase()}:calls=(\\d+)`).exec(info);
  return match === null ? 0 : Number(match[1]);
}
