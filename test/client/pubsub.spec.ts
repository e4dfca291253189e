import { PoolClosedError } from '../../lib/errors/redis-pool.errors';
import type { RedisService } from '../../lib/client/redis.service';
import type { RedisReply } from '../../lib/protocol/resp.types';
import { useRedisServer } from '../harness';
import {
  PROTOCOLS,
  key,
  openService,
  rejectionOf,
  sleep,
  useService,
  waitFor,
} from './client-helpers';

type Received = Array<[string, string, string?]>;

function collector(): {
  received: Received;
  handler: (...args: [string, string, string?]) => void;
} {
  const received: Received = [];
  return { received, handler: (...args) => received.push(args) };
}

/** Publishes until someone receives it (a subscriber may still be resubscribing), then returns. */
async function publishUntilReceived(
  redis: RedisService,
  channel: string,
  message: string,
  shard = false,
): Promise<void> {
  await waitFor(
    async () => {
      const receivers = await (
        shard ? redis.spublish(channel, message) : redis.publish(channel, message)
      ).catch(() => 0);
      return receivers > 0;
    },
    10_000,
    `a subscriber on ${channel}`,
  );
}

describe.each(PROTOCOLS)('RedisService pub/sub (RESP%i)', (protocol) => {
  const server = useRedisServer();
  const redis = useService(server, protocol);

  it('subscribe delivers (message, channel); unicode and empty payloads included', async () => {
    const channel = key('ch');
    const { received, handler } = collector();
    const subscription = await redis().subscribe(channel, handler);
    expect(subscription.kind).toBe('channel');
    expect(subscription.names).toEqual([channel]);
    await expect(redis().publish(channel, 'hello')).resolves.toBe(1);
    await redis().publish(channel, 'ünïcødé ✓');
    await redis().publish(channel, '');
    await waitFor(() => received.length === 3);
    expect(received).toEqual([
      ['hello', channel],
      ['ünïcødé ✓', channel],
      ['', channel],
    ]);
    await subscription.unsubscribe();
  });

  it('{ buffers: true } delivers the exact bytes published; text handlers on the same channel get strings', async () => {
    // Not valid UTF-8: decoded as text, 0xff and the lone continuation byte would become U+FFFD.
    const binary = Buffer.from([0xff, 0x00, 0x80, 0xc3, 0x28, 0x7f]);
    const channel = key('bin');
    const prefix = key('binp');
    const shard = key('bins');
    const bytes: Array<[Buffer, Buffer, Buffer?]> = [];
    const texts: Received = [];
    const onBytes = (...args: [Buffer, Buffer, Buffer?]) => bytes.push(args);
    const subscriptions = [
      await redis().subscribe(channel, onBytes, { buffers: true }),
      await redis().subscribe(channel, (...args: [string, string, string?]) => texts.push(args)),
      await redis().psubscribe(`${prefix}.*`, onBytes, { buffers: true }),
      await redis().ssubscribe(shard, onBytes, { buffers: true }),
    ];
    // Published while the connection is idle and while a subscription is being confirmed (RESP2 messages then
    // arrive as plain arrays behind a confirmation).
    await redis().publish(channel, binary);
    await waitFor(() => bytes.length === 1);
    const late = redis().subscribe(key('other'), () => undefined);
    await redis().publish(`${prefix}.x`, binary);
    await redis().spublish(shard, binary);
    await (await late).unsubscribe();
    await waitFor(() => bytes.length === 3 && texts.length === 1);
    expect(bytes).toEqual([
      [binary, Buffer.from(channel)],
      [binary, Buffer.from(`${prefix}.x`), Buffer.from(`${prefix}.*`)],
      [binary, Buffer.from(shard)],
    ]);
    expect(bytes.every(([message]) => Buffer.isBuffer(message))).toBe(true);
    expect(texts).toEqual([[binary.toString('utf8'), channel]]);
    for (const subscription of subscriptions) await subscription.unsubscribe();
  });

  it('a connection that decoded messages as bytes is never handed to anyone else', async () => {
    const pool = redis().pool;
    const connection = await pool.getConnection();
    const channel = key('bin');
    await connection.executeCommand('SUBSCRIBE', channel);
    // Switched on an idle, already subscribed connection: the next message decodes as bytes.
    connection.decodeMessagesAsBuffers();
    const pushed = new Promise<RedisReply[]>((resolve) => connection.once('push', resolve));
    await redis().publish(channel, Buffer.from([0xff, 0xfe]));
    expect(await pushed).toEqual([
      Buffer.from('message'),
      Buffer.from(channel),
      Buffer.from([0xff, 0xfe]),
    ]);
    pool.release(connection);
    await connection.whenClosed();
    const next = await pool.getConnection();
    try {
      expect(next).not.toBe(connection);
      await expect(next.executeCommand('ECHO', 'text')).resolves.toBe('text');
    } finally {
      pool.release(next);
    }
  });

  it('several channels and handlers; unsubscribe removes one handler, then the channel', async () => {
    const [a, b] = [key('ch'), key('ch')];
    const first = collector();
    const second = collector();
    const one = await redis().subscribe([a, b], first.handler);
    const two = await redis().subscribe(a, second.handler);
    await redis().publish(a, 'to a');
    await redis().publish(b, 'to b');
    await waitFor(() => first.received.length === 2 && second.received.length === 1);
    expect(second.received).toEqual([['to a', a]]);
    await one.unsubscribe();
    await one.unsubscribe();
    await expect(redis().publish(b, 'nobody')).resolves.toBe(0);
    await expect(redis().publish(a, 'only second')).resolves.toBe(1);
    await waitFor(() => second.received.length === 2);
    expect(first.received).toHaveLength(2);
    expect(redis().subscriber.connected).toBe(true);
    await two.unsubscribe();
    expect(redis().subscriber.connected).toBe(false);
    expect(redis().subscriber.count).toBe(0);
    await waitFor(() => redis().pool.stats().leased === 0, 1000, 'the lease to come back');
    await expect(redis().publish(a, 'nobody')).resolves.toBe(0);
  });

  it('psubscribe passes the pattern as third argument', async () => {
    const prefix = key('news');
    const { received, handler } = collector();
    const subscription = await redis().psubscribe(`${prefix}.*`, handler);
    expect(subscription.kind).toBe('pattern');
    await expect(redis().publish(`${prefix}.sport`, 'goal')).resolves.toBe(1);
    await expect(redis().publish(`${prefix}x`, 'no match')).resolves.toBe(0);
    await waitFor(() => received.length === 1);
    expect(received).toEqual([['goal', `${prefix}.sport`, `${prefix}.*`]]);
    await subscription.unsubscribe();
    await expect(redis().publish(`${prefix}.sport`, 'gone')).resolves.toBe(0);
  });

  it('ssubscribe receives spublish messages', async () => {
    const channel = key('shard');
    const { received, handler } = collector();
    const subscription = await redis().ssubscribe([channel], handler);
    expect(subscription.kind).toBe('shard');
    await expect(redis().spublish(channel, 'sharded')).resolves.toBe(1);
    await waitFor(() => received.length === 1);
    expect(received).toEqual([['sharded', channel]]);
    await subscription.unsubscribe();
    await expect(redis().spublish(channel, 'gone')).resolves.toBe(0);
  });

  it('a handler that throws or rejects does not stop delivery; the error event reports it', async () => {
    const channel = key('ch');
    const errors: unknown[] = [];
    redis().subscriber.on('error', (error: unknown) => errors.push(error));
    const { received, handler } = collector();
    await redis().subscribe(channel, () => {
      throw new Error('sync boom');
    });
    await redis().subscribe(channel, async () => {
      throw new Error('async boom');
    });
    await redis().subscribe(channel, handler);
    await redis().publish(channel, 'm1');
    await redis().publish(channel, 'm2');
    await waitFor(() => received.length === 2 && errors.length === 4);
    expect(errors.map((e) => (e as Error).message).sort()).toEqual([
      'async boom',
      'async boom',
      'sync boom',
      'sync boom',
    ]);
    await redis().subscriber.close();
    expect(redis().subscriber.connected).toBe(false);
  });

  it('the shared path keeps working while subscribed', async () => {
    const channel = key('ch');
    const subscription = await redis().subscribe(channel, () => undefined);
    const k = key();
    await redis().set(k, 'v');
    await expect(redis().get(k)).resolves.toBe('v');
    await expect(redis().pipeline().get(k).exec()).resolves.toEqual(['v']);
    await subscription.unsubscribe();
  });

  it('rejects bad arguments and a closed pool', async () => {
    await expect(redis().subscribe([], () => undefined)).rejects.toThrow(TypeError);
    const closed = openService(server(), protocol);
    await closed.pool.disconnect();
    const error = await rejectionOf(closed.subscribe(key('ch'), () => undefined));
    expect(error).toBeInstanceOf(PoolClosedError);
  });

  it('pool.disconnect() with live subscriptions closes promptly, leaving nothing open', async () => {
    const own = openService(server(), protocol);
    await own.subscribe(key('ch'), () => undefined);
    await own.psubscribe(`${key('p')}*`, () => undefined);
    const started = Date.now();
    await own.pool.disconnect();
    expect(Date.now() - started).toBeLessThan(1500);
    expect(own.pool.stats()).toMatchObject({ total: 0, leased: 0 });
    await sleep(150);
    expect(own.subscriber.connected).toBe(false);
  });
});

describe.each(PROTOCOLS)('RedisService pub/sub across a server restart (RESP%i)', (protocol) => {
  const server = useRedisServer();
  const redis = useService(server, protocol);

  it('resubscribes channels, patterns and shard channels, and delivers again', async () => {
    const [channel, shard, prefix] = [key('ch'), key('sh'), key('pat')];
    const plain = collector();
    const pattern = collector();
    const sharded = collector();
    await redis().subscribe(channel, plain.handler);
    await redis().psubscribe(`${prefix}:*`, pattern.handler);
    await redis().ssubscribe(shard, sharded.handler);
    let reconnects = 0;
    redis().subscriber.on('reconnect', () => reconnects++);
    redis().subscriber.on('error', () => undefined);
    await redis().publish(channel, 'before');
    await waitFor(() => plain.received.length === 1);

    await server().restart();

    await publishUntilReceived(redis(), channel, 'after');
    await publishUntilReceived(redis(), `${prefix}:x`, 'after');
    await publishUntilReceived(redis(), shard, 'after', true);
    await waitFor(
      () =>
        plain.received.length >= 2 && pattern.received.length >= 1 && sharded.received.length >= 1,
    );
    expect(plain.received[0]).toEqual(['before', channel]);
    expect(plain.received[1]).toEqual(['after', channel]);
    expect(pattern.received[0]).toEqual(['after', `${prefix}:x`, `${prefix}:*`]);
    expect(sharded.received[0]).toEqual(['after', shard]);
    expect(reconnects).toBeGreaterThanOrEqual(1);
    expect(redis().subscriber.count).toBe(3);
  });
});
