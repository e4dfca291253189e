import { RedisService } from '../../lib/client/redis.service';
import type { Connection } from '../../lib/connection/connection';
import { ConnectionPool } from '../../lib/pool/connection-pool';
import { useRedisServer } from '../harness';
import {
  expectNothingOpen,
  expectOwnReply,
  sleep,
  uniqueName,
  watchUnhandledRejections,
} from './pool-checks';

/**
 * Catches what `emitSafely` rethrows on the next tick (a listener's exception), instead of letting it reach
 * jest as an uncaught exception; every other `nextTick` runs as usual.
 */
function captureRethrown(): { errors: unknown[]; restore: () => void } {
  const errors: unknown[] = [];
  const original = process.nextTick;
  const intercept = (callback: (...args: unknown[]) => void, ...args: unknown[]): void => {
    if (callback.name === 'rethrow') errors.push(args[0]);
    else original.call(process, callback, ...args);
  };
  const spy = jest
    .spyOn(process, 'nextTick')
    .mockImplementation(intercept as unknown as typeof process.nextTick);
  return { errors, restore: () => spy.mockRestore() };
}

/** Scenario 31: a user callback that throws cannot disturb a socket's decoding. */
describe('throwing listeners', () => {
  watchUnhandledRejections();
  const server = useRedisServer();
  let pool: ConnectionPool;
  let name: string;

  afterEach(async () => {
    await expectNothingOpen(pool, server(), name);
  });

  const open = (protocol: 2 | 3) => {
    name = uniqueName('listeners');
    pool = new ConnectionPool({ url: server().url, clientName: name, protocol });
    return pool;
  };

  it('a push listener that throws: the replies in the same chunk still reach their callers (RESP3)', async () => {
    open(3);
    const captured = captureRethrown();
    try {
      await pool.withConnection(async (c: Connection) => {
        c.on('push', () => {
          throw new Error('listener boom');
        });
        await c.executeCommand('SUBSCRIBE', 'listeners:ch');
        // The connection publishes to itself: each message push and the PUBLISH reply share a chunk.
        const replies = await Promise.all([
          c.executeCommand('PUBLISH', 'listeners:ch', 'one'),
          c.executeCommand('ECHO', 'after-one'),
          c.executeCommand('PUBLISH', 'listeners:ch', 'two'),
          c.executeCommand('ECHO', 'after-two'),
        ]);
        expect(replies).toEqual([1, 'after-one', 1, 'after-two']);
      });
    } finally {
      captured.restore();
    }
    expect(captured.errors.map((e) => (e as Error).message)).toEqual([
      'listener boom',
      'listener boom',
    ]);
    await expectOwnReply(pool);
  });

  it('a subscriber whose handler and error listener both throw keeps delivering and answering (RESP2)', async () => {
    open(2);
    const redis = new RedisService(pool);
    const received: string[] = [];
    const subscription = await redis.subscribe('listeners:ch2', (message) => {
      received.push(message);
      throw new Error('handler boom');
    });
    const subscriber = (redis as unknown as { shared: { subscriber: NodeJS.EventEmitter } }).shared
      .subscriber;
    subscriber.on('error', () => {
      throw new Error('error listener boom');
    });
    const captured = captureRethrown();
    try {
      for (const message of ['a', 'b', 'c']) await redis.publish('listeners:ch2', message);
      for (let i = 0; i < 50 && received.length < 3; i++) await sleep(10);
    } finally {
      captured.restore();
    }
    expect(received).toEqual(['a', 'b', 'c']);
    expect(captured.errors.map((e) => (e as Error).message)).toEqual([
      'error listener boom',
      'error listener boom',
      'error listener boom',
    ]);
    await subscription.unsubscribe();
    await expectOwnReply(pool);
  });

  it('a pool event listener that throws does not stop the pool from placing its connection', async () => {
    open(2);
    pool.on('connect', () => {
      throw new Error('connect listener boom');
    });
    const captured = captureRethrown();
    try {
      await expectOwnReply(pool);
    } finally {
      captured.restore();
    }
    expect(captured.errors).toHaveLength(1);
  });
});
