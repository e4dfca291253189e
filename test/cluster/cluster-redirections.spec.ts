import { ClusterPool } from '../../lib/cluster/cluster-pool';
import { keySlot } from '../../lib/cluster/hash-slot';
import { ClusterError, ResponseError } from '../../lib/errors/redis-pool.errors';
import { respEncode, startFakeRespServer, type FakeRespServer } from '../harness';
import { watchUnhandledRejections } from '../pool/pool-checks';

/**
 * Redirections a healthy cluster never sends (a MOVED loop, hostile or malformed targets), and the protocol
 * corners around them, scripted on fake nodes. Real-cluster behaviour is in cluster-*.spec.ts.
 */

const { simple, error, bulk, integer, array } = respEncode;

/** A COMMAND reply in the pre-7.0 shape (first key, last key, step) for the few commands these tests send. */
const COMMAND_REPLY = array(
  [
    ['get', 2, 1, 1, 1],
    ['set', -3, 1, 1, 1],
    ['mset', -3, 1, -1, 2],
    ['ping', -1, 0, 0, 0],
  ].map(([name, arity, first, last, step]) =>
    array([
      bulk(String(name)),
      integer(Number(arity)),
      array([simple('fast')]),
      integer(Number(first)),
      integer(Number(last)),
      integer(Number(step)),
    ]),
  ),
);

/** CLUSTER SHARDS (RESP2 shape) saying `port` serves every slot. */
function shardsReply(port: number): string {
  return array([
    array([
      bulk('slots'),
      array([integer(0), integer(16383)]),
      bulk('nodes'),
      array([
        array([
          bulk('id'),
          bulk('a'.repeat(40)),
          bulk('port'),
          integer(port),
          bulk('ip'),
          bulk('127.0.0.1'),
          bulk('endpoint'),
          bulk('127.0.0.1'),
          bulk('role'),
          bulk('master'),
          bulk('health'),
          bulk('online'),
        ]),
      ]),
    ]),
  ]);
}

type Script = (args: string[], node: FakeRespServer) => string | undefined;

/** A fake cluster node: answers topology and COMMAND itself, GET/SET/MSET through `script`. */
async function fakeNode(script: () => Script): Promise<FakeRespServer> {
  const node: FakeRespServer = await startFakeRespServer((command, conn) => {
    const [name, ...args] = command;
    const upper = name.toUpperCase();
    if (upper === 'PING') return conn.write(simple('PONG'));
    if (upper === 'COMMAND') return conn.write(COMMAND_REPLY);
    if (upper === 'ASKING') return conn.write(simple('OK'));
    if (upper === 'CLUSTER' && args[0].toUpperCase() === 'SHARDS') {
      return conn.write(shardsReply(node.port));
    }
    const reply = script()([upper, ...args], node);
    conn.write(reply ?? error(`ERR unknown command '${name}'`));
  });
  return node;
}

describe('cluster redirections from fake nodes', () => {
  watchUnhandledRejections();
  let script: Script = () => undefined;
  let a: FakeRespServer;
  let b: FakeRespServer;
  let pool: ClusterPool;

  beforeAll(async () => {
    a = await fakeNode(() => script);
    b = await fakeNode(() => script);
  });
  afterAll(async () => {
    await Promise.all([a.close(), b.close()]);
  });
  beforeEach(() => {
    pool = new ClusterPool({
      nodes: [{ host: a.host, port: a.port }],
      maxRedirections: 5,
      commandTimeoutMs: 2000,
      refreshIntervalMs: 0,
    });
  });
  afterEach(async () => {
    await pool.disconnect({ drainTimeoutMs: 100 });
  });

  const gets = (node: FakeRespServer): number =>
    node.commands.filter(([name]) => name.toUpperCase() === 'GET').length;

  it('a MOVED loop ends with ClusterError after maxRedirections, and the pool keeps working', async () => {
    script = ([name, key]) =>
      name === 'GET' ? error(`MOVED ${keySlot(key)} 127.0.0.1:${a.port}`) : undefined;
    const before = gets(a);
    const failure = await pool.executeCommand('GET', 'loop').catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(ClusterError);
    expect((failure as Error).message).toMatch(/Too many cluster redirections \(5\) for GET/);
    expect((failure as ClusterError).cause).toBeInstanceOf(ResponseError);
    expect(gets(a) - before).toBe(6);
    await expect(pool.executeCommand('PING')).resolves.toBe('PONG');
  });

  it.each([
    ['MOVED __proto__ x'],
    ['MOVED 12 __proto__'],
    ['MOVED 99999 127.0.0.1:7000'],
    ['MOVED -1 127.0.0.1:7000'],
    ['MOVED 12 127.0.0.1:0'],
    ['MOVED 12 127.0.0.1:70000'],
    ['MOVED 12 127.0.0.1:abc'],
    ['MOVED 12 evil host:7000'],
    ['MOVED 12 a/b@c:7000'],
    ['ASK constructor 127.0.0.1:7000'],
    ['MOVED'],
  ])('a hostile redirection %j is a ClusterError, never prototype pollution', async (reply) => {
    script = ([name]) => (name === 'GET' ? error(reply) : undefined);
    const failure = await pool.executeCommand('GET', 'k').catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(ClusterError);
    expect((failure as Error).message).toMatch(/Malformed cluster redirection/);
    expect(Object.prototype).not.toHaveProperty('x');
    expect(({} as Record<string, unknown>).__proto__).toBe(Object.prototype);
    expect(JSON.stringify(pool.toJSON())).not.toMatch(/__proto__|constructor|evil/);
    await expect(pool.executeCommand('PING')).resolves.toBe('PONG');
  });

  it('MOVED to another node follows it and remembers the slot', async () => {
    const slot = keySlot('moved');
    script = ([name], node) => {
      if (name !== 'GET') return undefined;
      return node === a ? error(`MOVED ${slot} 127.0.0.1:${b.port}`) : bulk('from-b');
    };
    await expect(pool.executeCommand('GET', 'moved')).resolves.toBe('from-b');
    const [beforeA, beforeB] = [gets(a), gets(b)];
    await expect(pool.executeCommand('GET', 'moved')).resolves.toBe('from-b');
    expect([gets(a) - beforeA, gets(b) - beforeB]).toEqual([0, 1]);
  });

  it('an empty host in MOVED (Redis 7, unknown endpoint) means the node that answered', async () => {
    script = ([name, key], node) => {
      if (name !== 'GET') return undefined;
      return node === a && key === 'first' ? error(`MOVED ${keySlot(key)} :${b.port}`) : bulk('b');
    };
    await expect(pool.executeCommand('GET', 'first')).resolves.toBe('b');
  });

  it('ASK sends ASKING then the command on one connection of the target, and leaves the map alone', async () => {
    const slot = keySlot('asked');
    script = ([name], node) => {
      if (name !== 'GET') return undefined;
      return node === a ? error(`ASK ${slot} 127.0.0.1:${b.port}`) : bulk('imported');
    };
    await expect(pool.executeCommand('GET', 'asked')).resolves.toBe('imported');
    const onB = b.connections.map((conn) => conn.commands.map(([name]) => name.toUpperCase()));
    expect(onB).toContainEqual(expect.arrayContaining(['ASKING', 'GET']));
    const session = onB.find((names) => names.includes('ASKING')) ?? [];
    expect(session[session.indexOf('ASKING') + 1]).toBe('GET');
    const before = gets(a);
    await pool.executeCommand('GET', 'asked');
    expect(gets(a) - before).toBe(1);
  });

  it('TRYAGAIN is retried with backoff until the node answers', async () => {
    let tries = 0;
    script = ([name]) => {
      if (name !== 'GET') return undefined;
      tries++;
      return tries < 3
        ? error('TRYAGAIN Multiple keys request during rehashing of slot')
        : bulk('ok');
    };
    await expect(pool.executeCommand('GET', 'k')).resolves.toBe('ok');
    expect(tries).toBe(3);
  });

  it('CLUSTERDOWN that never ends gives the ResponseError within the command deadline', async () => {
    script = ([name]) => (name === 'GET' ? error('CLUSTERDOWN The cluster is down') : undefined);
    const started = Date.now();
    const failure = await pool.execute('GET', ['k'], { timeoutMs: 600 }).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(ResponseError);
    expect((failure as ResponseError).code).toBe('CLUSTERDOWN');
    expect(Date.now() - started).toBeLessThan(1500);
  });

  it('keys in different slots are refused before anything is sent (CROSSSLOT)', async () => {
    script = ([name]) => (name === 'MSET' ? simple('OK') : undefined);
    await pool.executeCommand('PING');
    expect(keySlot('x')).not.toBe(keySlot('y'));
    const failure = await pool.executeCommand('MSET', 'x', '1', 'y', '2').catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(ClusterError);
    expect((failure as Error).message).toMatch(/CROSSSLOT refused before sending.*MSET/);
    expect([...a.commands, ...b.commands].some(([name]) => name.toUpperCase() === 'MSET')).toBe(
      false,
    );
    await expect(pool.executeCommand('MSET', '{t}x', '1', '{t}y', '2')).resolves.toBe('OK');
  });
});
