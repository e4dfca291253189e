import { CHANNELS, commandChannel, batchChannel } from '../../lib/observability/channels';
import { ResponseError } from '../../lib/errors/redis-pool.errors';
import { RedisService } from '../../lib/client/redis.service';
import { ConnectionPool } from '../../lib/pool/connection-pool';
import { startRedisServer, type RedisServerHandle } from '../harness';
import { expectNothingOpen, uniqueName, watchUnhandledRejections } from '../pool/pool-checks';
import { allStrings, eventually, recordChannels } from './channel-recorder';

const TRACING = [CHANNELS.command, CHANNELS.batch, CHANNELS.connect];
const POINTS = [
  CHANNELS.connectionCreate,
  CHANNELS.connectionClose,
  CHANNELS.leaseWaitStart,
  CHANNELS.leaseWaitEnd,
  CHANNELS.leaseAcquire,
  CHANNELS.leaseRelease,
  CHANNELS.poolDown,
  CHANNELS.poolUp,
];

describe('diagnostics channels', () => {
  watchUnhandledRejections();
  let server: RedisServerHandle;
  let pool: ConnectionPool;
  let name: string;
  let recorder: ReturnType<typeof recordChannels> | undefined;

  beforeEach(async () => {
    server = await startRedisServer({ password: 'chan-secret-pw' });
  });

  afterEach(async () => {
    recorder?.stop();
    recorder = undefined;
    if (server.frozen) server.resume();
    await expectNothingOpen(pool, server.running ? server : null, name);
    await server.dispose();
  });

  const open = (options: ConstructorParameters<typeof ConnectionPool>[0] = {}) => {
    name = uniqueName('chan');
    pool = new ConnectionPool({
      host: server.host,
      port: server.port,
      password: 'chan-secret-pw',
      clientName: name,
      name: 'orders',
      db: 2,
      connectTimeoutMs: 500,
      retry: { attempts: 3, baseDelayMs: 20, maxDelayMs: 100 },
      ...options,
    });
    return pool;
  };

  it('publishes nothing and builds no context when nobody subscribed', async () => {
    const trace = jest.spyOn(commandChannel, 'tracePromise');
    const batch = jest.spyOn(batchChannel, 'tracePromise');
    try {
      const redis = new RedisService(open());
      await redis.set('k', 'v');
      await redis.pipeline().get('k').get('k').exec();
      await redis.multi().get('k').exec();
      await redis.withConnection((c) => c.get('k'));
      expect(commandChannel.hasSubscribers).toBe(false);
      expect(trace).not.toHaveBeenCalled();
      expect(batch).not.toHaveBeenCalled();
    } finally {
      trace.mockRestore();
      batch.mockRestore();
    }
  });

  it('traces a shared-path command with the node-redis context shape, values redacted', async () => {
    const redis = new RedisService(open());
    await redis.ping(); // connected before the recording starts
    recorder = recordChannels(TRACING, POINTS);
    await expect(redis.set('user:1', 'the-value')).resolves.toBe('OK');
    const [start] = recorder.of(CHANNELS.command, 'start');
    expect(start.context).toEqual({
      command: 'SET',
      args: ['user:1', '?'],
      database: 2,
      serverAddress: server.host,
      serverPort: server.port,
      poolName: 'orders',
      connectionId: undefined,
    });
    const [end] = recorder.of(CHANNELS.command, 'asyncEnd');
    expect(end.raw).toBe(start.raw);
    expect(end.context.result).toBe('OK');
    expect(recorder.of(CHANNELS.command, 'error')).toEqual([]);
  });

  it('records a rejected command on the error phase, with the ResponseError', async () => {
    const redis = new RedisService(open());
    await redis.set('str', 'x');
    recorder = recordChannels(TRACING);
    await expect(redis.executeCommand('LPUSH', 'str', 'y')).rejects.toBeInstanceOf(ResponseError);
    const [error] = recorder.of(CHANNELS.command, 'error');
    expect(error.context.error).toBeInstanceOf(ResponseError);
    expect((error.context.error as ResponseError).code).toBe('WRONGTYPE');
    expect(error.context.args).toEqual(['str', '?']);
    expect(recorder.of(CHANNELS.command, 'asyncEnd')).toHaveLength(1);
  });

  it('traces commands on a leased connection with its id', async () => {
    const redis = new RedisService(open());
    recorder = recordChannels(TRACING);
    const id = await redis.withConnection(async (client) => {
      await client.hset('h', 'field', 'secret-ish');
      return client.connection.id;
    });
    const hset = recorder.of(CHANNELS.command, 'start').find((h) => h.context.command === 'HSET');
    expect(hset?.context).toMatchObject({ args: ['h', 'field', '?'], connectionId: id });
  });

  it('traces a pipeline and a transaction as one batch each, not command by command', async () => {
    const redis = new RedisService(open());
    await redis.ping();
    recorder = recordChannels(TRACING);
    await redis.pipeline().set('a', 'value-a').get('a').incr('n').exec();
    await redis.multi().set('b', 'value-b').get('b').exec();
    expect(recorder.of(CHANNELS.command)).toEqual([]);
    const starts = recorder.of(CHANNELS.batch, 'start');
    expect(starts.map((s) => s.context.batchMode)).toEqual(['PIPELINE', 'MULTI']);
    const ends = recorder.of(CHANNELS.batch, 'asyncEnd');
    expect(ends[0].context).toMatchObject({
      batchMode: 'PIPELINE',
      batchSize: 3,
      commands: ['SET a ?', 'GET a', 'INCR n'],
      database: 2,
      serverAddress: server.host,
      serverPort: server.port,
      poolName: 'orders',
      connectionId: expect.any(Number),
    });
    expect(ends[1].context).toMatchObject({ batchMode: 'MULTI', batchSize: 2 });
  });

  it('traces connects and publishes connection create, close, pool down and up', async () => {
    recorder = recordChannels(TRACING, POINTS);
    const redis = new RedisService(open());
    await redis.ping();
    const [connect] = recorder.of(CHANNELS.connect, 'asyncEnd');
    expect(connect.context).toMatchObject({
      serverAddress: server.host,
      serverPort: server.port,
      database: 2,
      poolName: 'orders',
      connectionId: expect.any(Number),
    });
    const [created] = recorder.of(CHANNELS.connectionCreate);
    expect(created.context).toMatchObject({
      connectionId: connect.context.connectionId,
      createTimeMs: expect.any(Number),
      poolName: 'orders',
    });
    await server.kill();
    await eventually(() => recorder!.of(CHANNELS.connectionClose).length === 1);
    await expect(redis.ping()).rejects.toThrow();
    await eventually(() => recorder!.of(CHANNELS.poolDown).length === 1);
    expect(recorder.of(CHANNELS.connect, 'error').length).toBeGreaterThan(0);
    await server.restart();
    await eventually(() => {
      void redis.ping().catch(() => undefined);
      return recorder!.of(CHANNELS.poolUp).length === 1;
    }, 10_000);
    expect(recorder.of(CHANNELS.poolDown)[0].context.error).toBeInstanceOf(Error);
    expect(pool.stats().reconnects).toBe(1);
  });

  it('publishes lease waits, acquisitions and releases', async () => {
    const redis = new RedisService(open({ maxLeases: 1, acquireTimeoutMs: 200 }));
    await redis.ping(); // an idle shared connection: the first lease needs no wait
    recorder = recordChannels([], POINTS);
    const held = await pool.getConnection();
    const waiting = pool.getConnection();
    const timedOut = pool.getConnection();
    await new Promise((resolve) => setTimeout(resolve, 20));
    pool.release(held);
    const second = await waiting;
    await expect(timedOut).rejects.toThrow();
    pool.release(second);
    await redis.ping();
    expect(recorder.of(CHANNELS.leaseWaitStart).map((h) => h.context.waiting)).toEqual([1, 2]);
    expect(recorder.of(CHANNELS.leaseWaitEnd).map((h) => h.context.outcome)).toEqual([
      'acquired',
      'timeout',
    ]);
    const acquired = recorder.of(CHANNELS.leaseAcquire);
    expect(acquired).toHaveLength(2);
    expect(acquired[0].context.waitMs).toBe(0);
    expect(acquired[1].context.waitMs as number).toBeGreaterThan(10);
    const released = recorder.of(CHANNELS.leaseRelease);
    expect(released.map((h) => h.context.connectionId)).toEqual([held.id, second.id]);
    expect(released[0].context.useMs as number).toBeGreaterThan(10);
    expect(pool.stats()).toMatchObject({ timeouts: 1, leaseWaitMaxMs: expect.any(Number) });
    expect(pool.stats().leaseWaitMaxMs).toBeGreaterThan(10);
  });

  it('never carries the password or a value on any channel', async () => {
    recorder = recordChannels(TRACING, POINTS);
    const redis = new RedisService(open());
    const values = ['value-1-secret', 'value-2-secret', 'field-value-secret', 'script-arg-secret'];
    await redis.set('k1', values[0]);
    await redis.executeCommand('MSET', 'k2', values[1], 'k3', values[1]);
    await redis.hset('h', 'f', values[2]);
    await redis.executeCommand('EVAL', 'return ARGV[1]', '1', 'k1', values[3]);
    await redis.executeCommand('CONFIG', 'SET', 'requirepass', 'chan-secret-pw');
    await redis.pipeline().set('k4', values[0]).lpush('l', values[1]).exec();
    await redis.withConnection((c) => c.executeCommand('ECHO', values[2]));
    await redis.executeCommand('AUTH', 'chan-secret-pw').catch(() => undefined);
    const published = recorder.heard.map((h) => {
      const { result: _result, ...rest } = h.context; // the reply itself is the caller's data
      return rest;
    });
    const strings = allStrings(published);
    expect(strings.length).toBeGreaterThan(50);
    for (const secret of ['chan-secret-pw', ...values]) {
      expect(strings.filter((s) => s.includes(secret))).toEqual([]);
    }
    const eval_ = recorder.of(CHANNELS.command, 'start').find((h) => h.context.command === 'EVAL');
    expect(eval_?.context.args).toEqual(['return ARGV[1]', '1', 'k1', '?']);
  });
});
