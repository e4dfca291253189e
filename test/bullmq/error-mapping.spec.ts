import { BullMqClient, BullMqConnectionClosedError } from '../../lib/bullmq';
import { RedisService } from '../../lib/client/redis.service';
import { ConnectionError, TimeoutError } from '../../lib/errors/redis-pool.errors';
import { ConnectionPool } from '../../lib/pool/connection-pool';
import { startFakeRespServer, useRedisServer, type FakeRespServer } from '../harness';

/**
 * What BullMQ sees of the pool's failures: whatever means "no connection" is `BullMqConnectionClosedError` (which
 * BullMQ retries quietly, with its own delay, instead of failing work or spinning); a command Redis had and did
 * not answer in time stays a `TimeoutError`.
 */
describe('BullMqClient error mapping', () => {
  const server = useRedisServer();
  let fake: FakeRespServer | undefined;
  let pool: ConnectionPool | undefined;

  afterEach(async () => {
    if (server().frozen) server().resume();
    await pool?.disconnect({ drainTimeoutMs: 0 });
    await fake?.close();
    pool = undefined;
    fake = undefined;
  });

  it('a connect that timed out (the command never reached Redis) is a closed connection', async () => {
    // Accepts the socket and never answers the handshake.
    fake = await startFakeRespServer(() => undefined);
    pool = new ConnectionPool({ host: fake.host, port: fake.port, connectTimeoutMs: 100 });
    const client = new BullMqClient(new RedisService(pool));
    const error = await client.get('k').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BullMqConnectionClosedError);
    expect((error as BullMqConnectionClosedError).commandMayHaveRun).toBe(false);
    const cause = (error as BullMqConnectionClosedError).cause;
    expect(cause instanceof TimeoutError || cause instanceof ConnectionError).toBe(true);
  });

  it('a command Redis had and did not answer in time stays a TimeoutError', async () => {
    pool = new ConnectionPool({ host: server().host, port: server().port, commandTimeoutMs: 150 });
    const client = new BullMqClient(new RedisService(pool));
    await client.set('k', 'v');
    server().freeze();
    const error = await client.get('k').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TimeoutError);
    expect(error).not.toBeInstanceOf(BullMqConnectionClosedError);
    expect((error as TimeoutError).commandMayHaveRun).toBe(true);
  });
});
