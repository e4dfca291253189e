import { inspect } from 'node:util';
import { BullMqClient, BullMqConnectionClosedError } from '../../lib/bullmq';
import { RedisService } from '../../lib/client/redis.service';
import { ConnectionError } from '../../lib/errors/redis-pool.errors';
import { ConnectionPool } from '../../lib/pool/connection-pool';
import { useRedisServer } from '../harness';
import { clientNames, eventually, sleep } from './bullmq-helpers';

const PASSWORD = 'bullmq-s3cret-pw';

/** `duplicate()`: the exclusive lease behind BullMQ's blocking connections. */
describe('BullMqClient.duplicate()', () => {
  const server = useRedisServer({ password: PASSWORD });
  let pool: ConnectionPool;
  let base: BullMqClient;

  beforeEach(async () => {
    pool = new ConnectionPool({ url: server().url, maxConnections: 2, maxLeases: 4 });
    base = new BullMqClient(new RedisService(pool));
    await base.set('warm', 1);
  });
  afterEach(() => pool.disconnect());

  it('leases on connect(), names the lease, keeps scripts, and gives the lease back on quit()', async () => {
    base.defineCommand('hello', { numberOfKeys: 0, lua: "return 'hi'" });
    const dup = base.duplicate({ connectionName: 'bull:worker-1' });
    expect(dup).toBeInstanceOf(BullMqClient);
    expect(dup.status).toBe('wait');
    expect(dup.options).toEqual({ maxRetriesPerRequest: null, connectionName: 'bull:worker-1' });
    const ready = jest.fn();
    dup.on('ready', ready);
    await dup.connect();
    expect(dup.status).toBe('ready');
    expect(ready).toHaveBeenCalledTimes(1);
    expect(pool.stats().leased).toBe(1);
    expect(await clientNames(server())).toContain('bull:worker-1');
    expect(await dup.runCommand('hello', [])).toBe('hi');
    // Non-blocking commands stay on the shared path: the lease is not busy with them.
    expect(await dup.clientInfo()).toContain('name=bull:worker-1');
    const ended = new Promise<void>((resolve) => dup.once('end', () => resolve()));
    expect(await dup.quit()).toBe('OK');
    expect(dup.status).toBe('end');
    await ended;
    expect(pool.stats().leased).toBe(0);
    await eventually(
      async () => !(await clientNames(server())).includes('bull:worker-1'),
      'the named lease to close',
    );
    await expect(dup.bzpopmin('q', 0.01)).rejects.toBeInstanceOf(BullMqConnectionClosedError);
    expect(pool.closed).toBe(false);
    expect(await base.get('warm')).toBe('1');
  });

  it('runs BZPOPMIN on its lease while the shared path stays free', async () => {
    const dup = base.duplicate();
    await dup.connect();
    const blocked = dup.bzpopmin('markers', 5);
    await sleep(50);
    const started = Date.now();
    for (let i = 0; i < 20; i++) expect(await base.get('warm')).toBe('1');
    expect(Date.now() - started).toBeLessThan(2000);
    const blockedClients = (await server().clientList()).filter((c) => c.cmd === 'bzpopmin');
    expect(blockedClients).toHaveLength(1);
    await base.zadd('markers', 0, '0');
    expect(await blocked).toEqual(['markers', '0', '0']);
    await dup.quit();
  });

  it('disconnect() interrupts a blocked command (it resolves null) and connect() leases again', async () => {
    const dup = base.duplicate({ connectionName: 'bull:reopen' });
    await dup.connect();
    const blocked = dup.bzpopmin('never', 10);
    await sleep(50);
    const events: string[] = [];
    for (const event of ['close', 'end', 'reconnecting', 'ready']) {
      dup.on(event, () => events.push(event));
    }
    const started = Date.now();
    dup.disconnect();
    expect(await blocked).toBeNull();
    expect(Date.now() - started).toBeLessThan(1000);
    expect(dup.status).toBe('end');
    expect(events).toEqual(['close', 'end']);
    expect(pool.stats().leased).toBe(0);
    await dup.connect();
    expect(dup.status).toBe('ready');
    expect(pool.stats().leased).toBe(1);
    expect(await clientNames(server())).toContain('bull:reopen');
    dup.disconnect(true);
    expect(events).toEqual(['close', 'end', 'ready', 'close', 'reconnecting']);
    await eventually(() => dup.status === 'ready', 'the reconnect');
    expect(pool.stats().leased).toBe(1);
    await dup.quit();
  });

  it('lets a CLIENT SETNAME in flight finish when disconnected (a QueueEvents closed as it starts)', async () => {
    const dup = base.duplicate();
    await dup.connect();
    const named = dup.clientSetName('bull:events');
    dup.disconnect();
    expect(dup.status).toBe('end');
    await expect(named).resolves.toBe('OK');
    await eventually(() => pool.stats().leased === 0, 'the lease to go back');
  });

  it('takes a new lease after its connection was lost (reconnecting, then ready), with its name', async () => {
    const dup = base.duplicate({ connectionName: 'bull:lost' });
    const events: string[] = [];
    for (const event of ['close', 'reconnecting', 'ready', 'end']) {
      dup.on(event, () => events.push(event));
    }
    await dup.connect();
    const blocked = dup.bzpopmin('never', 10);
    await sleep(50);
    await server().cli('CLIENT', 'KILL', 'SKIPME', 'yes', 'TYPE', 'normal');
    const error = await blocked.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BullMqConnectionClosedError);
    await eventually(() => dup.status === 'ready' && events.length >= 4, 'the new lease');
    expect(events).toEqual(['ready', 'close', 'reconnecting', 'ready']);
    expect(await clientNames(server())).toContain('bull:lost');
    await base.zadd('again', 1, 'x');
    expect(await dup.bzpopmin('again', 1)).toEqual(['again', 'x', '1']);
    await dup.quit();
    expect(pool.stats().leased).toBe(0);
  });

  it('keeps trying while Redis is down, reports it once, and is ready again when Redis is back', async () => {
    const dup = base.duplicate({ connectionName: 'bull:outage' });
    const errors: unknown[] = [];
    dup.on('error', (e) => errors.push(e));
    await dup.connect();
    await server().kill();
    await eventually(() => dup.status === 'reconnecting', 'the loss');
    const down = await base.get('warm').catch((e: unknown) => e);
    expect(down).toBeInstanceOf(BullMqConnectionClosedError);
    expect((down as BullMqConnectionClosedError).cause).toBeInstanceOf(ConnectionError);
    await expect(dup.bzpopmin('q', 0.01)).rejects.toBeInstanceOf(BullMqConnectionClosedError);
    await sleep(600);
    expect(errors.length).toBeGreaterThanOrEqual(1);
    expect(errors.length).toBeLessThanOrEqual(2);
    await server().start();
    await eventually(() => dup.status === 'ready', 'the lease after the restart', 15_000);
    expect(await clientNames(server())).toContain('bull:outage');
    await dup.quit();
  });

  it('waits for a lease when the budget is spent, without touching the shared connections', async () => {
    const held = await Promise.all([1, 2, 3, 4].map(() => pool.getConnection()));
    const dup = base.duplicate();
    let ready = false;
    const connecting = dup.connect().then(() => {
      ready = true;
    });
    await sleep(100);
    expect(dup.status).toBe('connecting');
    expect(ready).toBe(false);
    expect(await base.get('warm')).toBe('1');
    pool.release(held.pop()!);
    await connecting;
    expect(dup.status).toBe('ready');
    for (const connection of held) pool.release(connection);
    await dup.quit();
  });

  it('never shows the password', async () => {
    const dup = base.duplicate({ connectionName: 'x' });
    await dup.connect();
    const shown = [
      inspect(base, { depth: 6 }),
      inspect(dup, { depth: 6 }),
      JSON.stringify(base.options),
      JSON.stringify(dup.options),
    ].join('\n');
    expect(shown).not.toContain(PASSWORD);
    await server().kill();
    const error = await base.get('warm').catch((e: unknown) => e);
    expect(inspect(error, { depth: 6 })).not.toContain(PASSWORD);
    await server().start();
    await dup.quit();
  });
});
