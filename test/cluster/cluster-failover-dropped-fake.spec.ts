import { ClusterPool } from '../../lib/cluster/cluster-pool';
import { ClusterError, TimeoutError } from '../../lib/errors/redis-pool.errors';
import {
  respEncode,
  startFakeRespServer,
  useRedisServer,
  type FakeConnection,
  type FakeRespServer,
} from '../harness';
import { sleep, watchUnhandledRejections } from '../pool/pool-checks';
import { commandReplyOf, oneShardReply, shardNode } from './fake-cluster-node';

/**
 * The stall check alone, against a fake cluster node (one shard, every slot) that goes silent or slow on cue:
 * what a frozen or slow master looks like from the pool, without a cluster to fail over.
 */
describe('ClusterPool and a master that goes silent (fake node)', () => {
  watchUnhandledRejections();
  const server = useRedisServer();
  let commandReply: string;
  let fake: FakeRespServer;
  /** Set by GET hang: nothing is answered any more, on any connection (as with SIGSTOP). */
  let silent = false;
  /** When the reply to GET slow was sent. */
  let slowAnsweredAt = 0;
  const receivedAt = new Map<string, number>();

  beforeAll(async () => {
    commandReply = await commandReplyOf(server().port);
    // Replies leave each connection in order, none before the server is free again (Redis is single-threaded).
    const chains = new WeakMap<object, Promise<void>>();
    let busyUntil = 0;
    const reply = (conn: FakeConnection, frame: string): void => {
      const chain = (chains.get(conn) ?? Promise.resolve()).then(async () => {
        await sleep(Math.max(0, busyUntil - Date.now()));
        if (frame === 'slow') slowAnsweredAt = Date.now();
        conn.write(frame === 'slow' ? respEncode.bulk('slow-value') : frame);
      });
      chains.set(conn, chain);
    };
    fake = await startFakeRespServer((command, conn) => {
      const [name, arg] = [command[0].toUpperCase(), command[1]];
      if (name === 'SET') receivedAt.set(arg, Date.now());
      if (silent) return;
      if (name === 'CLUSTER') reply(conn, oneShardReply([shardNode(fake, 'master')]));
      else if (name === 'COMMAND') reply(conn, commandReply);
      else if (name === 'PING') reply(conn, respEncode.simple('PONG'));
      else if (name === 'GET' && arg === 'hang') silent = true;
      else if (name === 'GET' && arg === 'slow') {
        busyUntil = Date.now() + 700;
        reply(conn, 'slow');
      } else reply(conn, respEncode.simple('OK'));
    });
  });
  afterAll(async () => {
    await fake.close();
  });
  beforeEach(() => {
    silent = false;
    receivedAt.clear();
  });

  const pool = () =>
    new ClusterPool({
      nodes: [{ host: fake.host, port: fake.port }],
      stallTimeoutMs: 200,
      commandTimeoutMs: 2000,
      connectTimeoutMs: 300,
      refreshMinIntervalMs: 50,
    });

  it('sends a silent master nothing new: later commands fail typed at their deadline, naming it', async () => {
    const cluster = pool();
    try {
      expect(await cluster.executeCommand('SET', 'warm', '1')).toBe('OK');
      const hang = cluster.executeCommand('GET', 'hang').catch((e: unknown) => e);
      await sleep(600);
      const startedAt = Date.now();
      const late = await cluster.executeCommand('SET', 'late', '1').catch((e: unknown) => e);
      expect(late).toBeInstanceOf(ClusterError);
      expect((late as Error).message).toMatch(/is not answering, and no successor is known yet/);
      // It waited (within its deadline) for a successor rather than failing at once...
      expect(Date.now() - startedAt).toBeGreaterThan(500);
      // ...and was never written to the silent node.
      expect(receivedAt.has('late')).toBe(false);
      const hung = await hang;
      expect(hung).toBeInstanceOf(TimeoutError);
      expect((hung as TimeoutError).commandMayHaveRun).toBe(true);
    } finally {
      await cluster.disconnect();
    }
  });

  it('a slow master is waited for, not given up: once it answers, the waiting commands go to it', async () => {
    const cluster = pool();
    try {
      expect(await cluster.executeCommand('SET', 'warm', '1')).toBe('OK');
      const slow = cluster.executeCommand('GET', 'slow');
      await sleep(400);
      expect(await cluster.executeCommand('SET', 'after', '1')).toBe('OK');
      expect(await slow).toBe('slow-value');
      // Held back while the node was silent, sent once it answered again.
      expect(receivedAt.get('after')).toBeGreaterThanOrEqual(slowAnsweredAt);
    } finally {
      await cluster.disconnect();
    }
  });
});
