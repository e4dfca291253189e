import { createAdapter } from '@socket.io/redis-adapter';
import { inspect } from 'node:util';
import { RedisService } from '../../lib/client/redis.service';
import {
  AuthenticationError,
  ConfigurationError,
  RedisError,
} from '../../lib/errors/redis-pool.errors';
import { ConnectionPool } from '../../lib/pool/connection-pool';
import {
  createSocketIoClients,
  SocketIoClientClosedError,
  type SocketIoRedisClient,
} from '../../lib/socket.io';
import { useRedisServer, type RedisClientInfo } from '../harness';
import { classicServersListening, nextEvent, startIoServer, waitUntil } from './socketio-helpers';

const NAME = 'sio-clients-spec';

/** Connections of ours that are subscribed to anything. */
function subscribed(list: RedisClientInfo[]): RedisClientInfo[] {
  return list.filter(
    (c) => c.name === NAME && (Number(c.sub) > 0 || Number(c.psub) > 0 || Number(c.ssub) > 0),
  );
}

describe('SocketIoRedisClient, the node-redis shape over RedisService', () => {
  const server = useRedisServer({ password: 'hunter2-secret' });
  let pool: ConnectionPool;
  let redis: RedisService;
  let opened: SocketIoRedisClient[];

  beforeAll(() => {
    pool = ConnectionPool.fromUrl(server().url, { clientName: NAME, maxConnections: 2 });
    redis = new RedisService(pool);
  });
  beforeEach(() => {
    opened = [];
  });
  afterEach(async () => {
    await Promise.all(opened.map((c) => c.quit()));
  });
  afterAll(async () => {
    await pool.disconnect();
  });

  function pair(): { pubClient: SocketIoRedisClient; subClient: SocketIoRedisClient } {
    const clients = createSocketIoClients(redis);
    opened.push(clients.pubClient, clients.subClient);
    return clients;
  }

  it('delivers Buffers in buffer mode and strings otherwise, byte-exact, to every listener', async () => {
    const { pubClient, subClient } = pair();
    const asBuffers: Array<[Buffer, Buffer]> = [];
    const asText: Array<[string, string]> = [];
    const byPattern: Array<[Buffer, Buffer]> = [];
    await subClient.subscribe('bin', (m, c) => void asBuffers.push([m, c]), true);
    await subClient.subscribe(['bin'], (m, c) => void asText.push([m, c]));
    await subClient.pSubscribe('b*', (m, c) => void byPattern.push([m, c]), true);
    const payload = Buffer.from([0x93, 0xff, 0x00, 0xc0, 0x41]);
    // One connection: Redis counts one receiver for the channel and one for the pattern.
    expect(await pubClient.publish('bin', payload)).toBe(2);
    await waitUntil(() => byPattern.length === 1 && asText.length === 1, 'three deliveries');
    expect(asBuffers).toEqual([[payload, Buffer.from('bin')]]);
    expect(Buffer.isBuffer(asBuffers[0][0])).toBe(true);
    expect(asText).toEqual([[payload.toString(), 'bin']]);
    expect(byPattern).toEqual([[payload, Buffer.from('bin')]]);
  });

  it('unsubscribes one listener, then the channel, as node-redis does', async () => {
    const { pubClient, subClient } = pair();
    const a: string[] = [];
    const b: string[] = [];
    const la = (m: string): void => void a.push(m);
    const lb = (m: string): void => void b.push(m);
    await subClient.subscribe('u', la);
    await subClient.subscribe('u', lb);
    await subClient.subscribe('u', la); // the same listener twice is kept once
    await pubClient.publish('u', '1');
    await waitUntil(() => b.length === 1, 'first message');
    await subClient.unsubscribe('u', la);
    await pubClient.publish('u', '2');
    await waitUntil(() => b.length === 2, 'second message');
    expect(a).toEqual(['1']);
    expect(await pubClient.publish('u', '3')).toBe(1);
    await subClient.unsubscribe('u');
    expect(await pubClient.publish('u', '4')).toBe(0);
    expect(subClient.subscriberConnections).toBe(0);
  });

  it('sSubscribe / sPublish on a single node, and PUBSUB counts through sendCommand', async () => {
    const { pubClient, subClient } = pair();
    const got = nextEvent<Buffer>(
      { once: (_e: string, fn: (m: Buffer) => void) => subClient.sSubscribe('s1', fn, true) },
      'x',
    );
    await waitUntil(
      async () =>
        (await pubClient.sendCommand<[string, number]>(['PUBSUB', 'SHARDNUMSUB', 's1']))[1] === 1,
      'the shard subscription',
    );
    expect(await pubClient.sPublish('s1', 'shard!')).toBe(1);
    expect((await got).toString()).toBe('shard!');
    expect(await pubClient.sendCommand(['PING'])).toBe('PONG');
    await expect(pubClient.sendCommand([])).rejects.toThrow(TypeError);
  });

  it('reports a throwing listener as an error event and keeps delivering', async () => {
    const { pubClient, subClient } = pair();
    const errors: unknown[] = [];
    subClient.on('error', (e) => errors.push(e));
    const seen: string[] = [];
    await subClient.subscribe('t', () => {
      throw new Error('listener bug');
    });
    await subClient.subscribe('t', (m) => void seen.push(m));
    await pubClient.publish('t', 'a');
    await waitUntil(() => seen.length === 1 && errors.length === 1, 'delivery and error');
    expect((errors[0] as Error).message).toBe('listener bug');
  });

  it('quit() gives back its subscriber connection, keeps the shared pool, and is final', async () => {
    const { pubClient, subClient } = pair();
    const io = await startIoServer(createAdapter(pubClient, subClient));
    await classicServersListening(pubClient, 1);
    expect(subscribed(await server().clientList())).toHaveLength(1);
    await io.close();
    await subClient.quit();
    await pubClient.quit();
    expect(subscribed(await server().clientList())).toEqual([]);
    // Only the shared pool's own connections are left, and they still work.
    const ours = (await server().clientList()).filter((c) => c.name === NAME);
    expect(ours.length).toBe(pool.stats().total);
    expect(await redis.ping()).toBe('PONG');
    expect(pool.closed).toBe(false);

    expect(subClient.isOpen).toBe(false);
    await expect(pubClient.publish('x', 'y')).rejects.toBeInstanceOf(SocketIoClientClosedError);
    await expect(subClient.subscribe('x', () => undefined)).rejects.toBeInstanceOf(RedisError);
    await expect(subClient.connect()).rejects.toBeInstanceOf(SocketIoClientClosedError);
    await subClient.quit(); // idempotent
    const again = subClient.duplicate();
    opened.push(again);
    expect(await again.publish('x', 'y')).toBe(0);
  });

  it("gives its lease back when the pool closes under it, and never leaks the pool's password", async () => {
    const own = ConnectionPool.fromUrl(server().url, { clientName: NAME });
    const { subClient, pubClient } = createSocketIoClients(new RedisService(own));
    await subClient.subscribe('p', () => undefined);
    // The subscriber hears the pool closing and gives its lease back at once: the close does not wait for the
    // lease until the drain deadline (20 s here; 5 ms measured, so the bound holds on a loaded machine).
    const started = Date.now();
    await own.disconnect({ drainTimeoutMs: 20_000 });
    expect(Date.now() - started).toBeLessThan(5000);
    expect(subClient.subscriberConnections).toBe(0);
    await expect(pubClient.publish('p', 'x')).rejects.toBeInstanceOf(RedisError);
    expect(inspect(pubClient, { depth: 8 })).not.toContain('hunter2-secret');

    const wrong = ConnectionPool.fromUrl(server().url.replace('hunter2-secret', 'wrong-pass-xyz'));
    const bad = createSocketIoClients(new RedisService(wrong));
    const failure = await bad.subClient.subscribe('p', () => undefined).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(AuthenticationError);
    expect(String((failure as Error).message)).not.toContain('wrong-pass-xyz');
    await bad.close();
    await wrong.disconnect();
  });

  it('checks its arguments and options with typed errors', () => {
    expect(() => createSocketIoClients({} as RedisService)).toThrow(ConfigurationError);
    expect(() => createSocketIoClients(redis, { reconnectBaseDelayMs: -1 })).toThrow(
      ConfigurationError,
    );
    expect(() =>
      createSocketIoClients(redis, { reconectMaxDelayMs: 5 } as unknown as Record<string, number>),
    ).toThrow(/Unknown createSocketIoClients option `reconectMaxDelayMs`/);
  });
});
