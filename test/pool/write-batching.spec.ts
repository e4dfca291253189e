import { Socket } from 'node:net';
import { ConnectionPool } from '../../lib/pool/connection-pool';
import { PACK_BELOW } from '../../lib/pool/shared-dispatcher';
import { startTcpProxy, useRedisServer, type TcpProxy } from '../harness';
import { expectNothingOpen, uniqueName, watchUnhandledRejections } from './pool-checks';

/** Every write carrying `marker` on a socket to `port` (the pool's, not the proxy's own), with that socket. */
function watchWrites(
  marker: string,
  port: number,
): {
  writes: Array<{ socket: Socket; text: string }>;
  stop(): void;
} {
  const writes: Array<{ socket: Socket; text: string }> = [];
  const original = Socket.prototype.write;
  const spy = jest.spyOn(Socket.prototype, 'write').mockImplementation(function (
    this: Socket,
    ...args: unknown[]
  ) {
    const text = String(args[0]);
    if (this.remotePort === port && text.includes(marker)) writes.push({ socket: this, text });
    return (original as (...a: unknown[]) => boolean).apply(this, args);
  });
  return { writes, stop: () => spy.mockRestore() };
}

const tick = () => new Promise<void>((resolve) => process.nextTick(resolve));

describe('shared path: writes are batched per loop iteration and packed onto few connections', () => {
  const server = useRedisServer();
  watchUnhandledRejections();
  let proxy: TcpProxy;
  let pool: ConnectionPool;
  let name: string;

  beforeEach(async () => {
    proxy = await startTcpProxy({ host: server().host, port: server().port });
  });
  afterEach(async () => {
    await expectNothingOpen(pool, server(), name);
    await proxy.close();
  });

  const open = async (connections: number) => {
    name = uniqueName('batching');
    pool = new ConnectionPool({
      host: proxy.host,
      port: proxy.port,
      clientName: name,
      maxConnections: connections,
      minIdle: connections,
    });
    while (pool.stats().idle < connections) await new Promise((resolve) => setImmediate(resolve));
  };

  it('an idle connection writes a command at the next tick, before the loop iteration ends', async () => {
    await open(1);
    const watch = watchWrites('idle-marker', proxy.port);
    try {
      let immediateRan = false;
      setImmediate(() => (immediateRan = true));
      const reply = pool.executeCommand('GET', 'idle-marker');
      await tick();
      expect(watch.writes).toHaveLength(1);
      expect(immediateRan).toBe(false);
      await expect(reply).resolves.toBeNull();
    } finally {
      watch.stop();
    }
  });

  it('a busy connection sends the commands of separate callbacks in one write at the end of the iteration', async () => {
    await open(1);
    // Replies take a while: the connection stays busy with the first command.
    proxy.setDelay(200);
    const first = pool.executeCommand('PING');
    await new Promise((resolve) => setImmediate(resolve));
    const watch = watchWrites('busy-marker', proxy.port);
    try {
      const a = pool.executeCommand('SET', 'busy-marker:a', '1');
      // Issued after the tick that would have written `a` alone.
      const b = await new Promise<Promise<unknown>>((resolve) =>
        process.nextTick(() =>
          process.nextTick(() => resolve(pool.executeCommand('SET', 'busy-marker:b', '2'))),
        ),
      );
      await new Promise((resolve) => setImmediate(resolve));
      expect(watch.writes).toHaveLength(1);
      expect(watch.writes[0].text).toContain('busy-marker:a');
      expect(watch.writes[0].text).toContain('busy-marker:b');
      await expect(Promise.all([first, a, b])).resolves.toEqual(['PONG', 'OK', 'OK']);
    } finally {
      watch.stop();
    }
  });

  it('later turns join the first connection while it has room; past PACK_BELOW they go to the next', async () => {
    await open(2);
    proxy.setDelay(200);
    const watch = watchWrites('pack-marker', proxy.port);
    try {
      const turn = (label: string, count: number) =>
        Array.from({ length: count }, (_, i) =>
          pool.executeCommand('SET', `pack-marker:${label}:${i}`, 'v'),
        );
      const one = turn('one', 10);
      await new Promise((resolve) => setImmediate(resolve));
      const two = turn('two', 10);
      await new Promise((resolve) => setImmediate(resolve));
      // Both turns on one socket, the other connection idle.
      expect(new Set(watch.writes.map((w) => w.socket)).size).toBe(1);
      const three = turn('three', PACK_BELOW);
      await new Promise((resolve) => setImmediate(resolve));
      const four = turn('four', 10);
      await new Promise((resolve) => setImmediate(resolve));
      const sockets = watch.writes.map((w) => w.socket);
      expect(new Set(sockets).size).toBe(2);
      // The fourth turn went to the second connection: the first one was full.
      const fourth = watch.writes.find((w) => w.text.includes('pack-marker:four:'));
      expect(fourth?.socket).not.toBe(sockets[0]);
      const replies = await Promise.all([...one, ...two, ...three, ...four]);
      expect(replies.every((reply) => reply === 'OK')).toBe(true);
    } finally {
      watch.stop();
    }
  });
});
