import assert from 'node:assert/strict';
import * as net from 'node:net';
import { inspect } from 'node:util';

import { AddressPolicy } from '../../lib/cluster/address-policy';
import { ClusterPool } from '../../lib/cluster/cluster-pool';
import { keySlot } from '../../lib/cluster/hash-slot';
import {
  ClusterAddressError,
  ConfigurationError,
  RedisError,
} from '../../lib/errors/redis-pool.errors';
import { checkModuleOptions } from '../../lib/nest/redis-pool.checks';
import {
  respEncode,
  startFakeRespServer,
  startTcpProxy,
  useRedisCluster,
  useRedisServer,
  type FakeRespServer,
  type TcpProxy,
} from '../harness';
import { watchUnhandledRejections } from '../pool/pool-checks';
import { expectClusterPoolEmpty, expectNoClients } from './cluster-closed';
import { commandReplyOf, oneShardReply, shardNode } from './fake-cluster-node';

/**
 * Announced addresses: `natMap` for a cluster reached only through port-remapping proxies (real 3+3 cluster),
 * and the refusal of node addresses outside the seeds' networks (a fake node sending MOVED and CLUSTER SHARDS
 * that no real server would send here).
 */

const OUTSIDE = { host: '10.255.255.1', port: 7000 };
const PASSWORD = 'nat-test-secret';

/** Every host a TCP socket was opened to while `run` ran. */
async function hostsConnectedDuring(run: () => Promise<void>): Promise<string[]> {
  // On the prototype: the library's own `node:net` namespace object is not the test's.
  const spy = jest.spyOn(net.Socket.prototype, 'connect');
  try {
    await run();
    return spy.mock.calls.map((call) => {
      // `net.connect()` passes its normalized `[options, listener]` list as the first argument.
      const first = call[0] as unknown;
      const options = (Array.isArray(first) ? first[0] : first) as net.TcpNetConnectOpts;
      return String(options?.host);
    });
  } finally {
    spy.mockRestore();
  }
}

describe('ClusterPool natMap, through port-remapping proxies', () => {
  watchUnhandledRejections();
  const cluster = useRedisCluster();
  const proxies = new Map<number, TcpProxy>();

  beforeAll(async () => {
    for (const node of cluster().nodes) {
      proxies.set(node.port, await startTcpProxy({ host: node.host, port: node.port }));
    }
  });
  afterAll(async () => {
    await Promise.all([...proxies.values()].map((proxy) => proxy.close()));
  });

  const seeds = () =>
    [...proxies.values()].map((proxy) => ({ host: proxy.host, port: proxy.port }));
  const proxyPorts = () => new Set([...proxies.values()].map((proxy) => proxy.port));

  it.each([
    [
      'an object',
      () =>
        Object.fromEntries(
          [...proxies].map(([real, p]) => [`127.0.0.1:${real}`, { host: p.host, port: p.port }]),
        ),
    ],
    [
      'a function',
      () => (address: { host: string; port: number }) => {
        const proxy = proxies.get(address.port);
        return proxy && { host: proxy.host, port: proxy.port };
      },
    ],
  ])(
    'with %s: every slot and a MOVED reached through the proxies only',
    async (_, natMap) => {
      const pool = new ClusterPool({ nodes: seeds(), natMap: natMap(), clientName: 'nat-map' });
      const connectedTo: string[] = [];
      pool.on('connect', (...args: unknown[]) => connectedTo.push(String(args[args.length - 1])));
      try {
        const keys = Array.from({ length: 300 }, (_, i) => `nat:${i}`);
        await Promise.all(keys.map((key) => pool.executeCommand('SET', key, `v-${key}`)));
        expect(await Promise.all(keys.map((key) => pool.executeCommand('GET', key)))).toEqual(
          keys.map((key) => `v-${key}`),
        );
        // Move a slot behind the pool's back: the MOVED names the real port, which the natMap turns into a proxy.
        const key = 'nat:moved';
        await pool.executeCommand('SET', key, 'before');
        const slot = keySlot(key);
        const from = await cluster().ownerOf(slot);
        const to = (await cluster().masters()).find((node) => node !== from)!;
        await cluster().migrateSlot(slot, to);
        expect(await pool.executeCommand('GET', key)).toBe('before');
        const ports = connectedTo.map((address) => Number(address.split(':')[1]));
        expect(ports.length).toBeGreaterThanOrEqual(3);
        expect(ports.filter((port) => !proxyPorts().has(port))).toEqual([]);
        const nodes = (pool.toJSON().nodes as Array<{ master: string }>).map(
          (shard) => shard.master,
        );
        expect(nodes.every((address) => proxyPorts().has(Number(address.split(':')[1])))).toBe(
          true,
        );
      } finally {
        await expectClusterPoolEmpty(pool);
        await expectNoClients(cluster(), 'nat-map');
      }
    },
    60_000,
  );
  it('README cluster-addresses example runs as written, through forwarded ports', async () => {
    process.env.REDIS_NAT_MAP = JSON.stringify(
      Object.fromEntries(
        [...proxies].map(([real, p]) => [`127.0.0.1:${real}`, { host: p.host, port: p.port }]),
      ),
    );
    // --- README cluster-addresses start ---
    // Each node is reached through a forwarded port: { "10.0.0.5:6379": { "host": "gw.example.net", "port": 16379 }, ... }
    const natMap = JSON.parse(process.env.REDIS_NAT_MAP ?? '{}') as Record<
      string,
      { host: string; port: number }
    >;
    const pool = new ClusterPool({
      nodes: Object.values(natMap),
      natMap,
      allowedHosts: ['.redis.internal'],
    });
    await pool.executeCommand('SET', 'greeting', 'hello');
    assert.equal(await pool.executeCommand('GET', 'greeting'), 'hello');
    await pool.disconnect();
    // --- README cluster-addresses end ---
    delete process.env.REDIS_NAT_MAP;
  });
});

describe('ClusterPool refuses node addresses outside the seeds networks', () => {
  watchUnhandledRejections();
  const server = useRedisServer();
  let commandReply: string;
  let fake: FakeRespServer;
  let target: FakeRespServer;
  /** What the fake node says in CLUSTER SHARDS besides itself, and where its GET redirects. */
  let replica: { host: string; port: number } | undefined;
  let master: { host: string; port: number } | undefined;

  beforeAll(async () => {
    commandReply = await commandReplyOf(server().port);
    target = await startFakeRespServer((command, conn) => {
      const name = command[0].toUpperCase();
      conn.write(
        name === 'GET' ? respEncode.bulk('from-the-mapped-node') : respEncode.simple('OK'),
      );
    });
    fake = await startFakeRespServer((command, conn) => {
      const [name, sub] = [command[0].toUpperCase(), command[1]?.toUpperCase()];
      if (name === 'CLUSTER' && sub === 'SHARDS') {
        const self = master ?? { host: fake.host, port: fake.port };
        const nodes = [
          shardNode(self, 'master'),
          ...(replica ? [shardNode(replica, 'replica')] : []),
        ];
        conn.write(oneShardReply(nodes));
      } else if (name === 'COMMAND') {
        conn.write(commandReply);
      } else if (name === 'GET') {
        conn.write(
          respEncode.error(`MOVED ${keySlot(command[1])} ${OUTSIDE.host}:${OUTSIDE.port}`),
        );
      } else if (name === 'PING') {
        conn.write(respEncode.simple('PONG'));
      } else {
        conn.write(respEncode.simple('OK'));
      }
    });
  });
  afterAll(async () => {
    await fake.close();
    await target.close();
  });
  afterEach(() => {
    replica = undefined;
    master = undefined;
  });

  const seedPool = (options: object = {}) =>
    new ClusterPool({
      nodes: [{ host: fake.host, port: fake.port }],
      password: PASSWORD,
      connectTimeoutMs: 300,
      commandTimeoutMs: 2000,
      ...options,
    });

  it('a MOVED to a host outside: ClusterAddressError, no connection attempted, no password in it', async () => {
    const pool = seedPool();
    let error: unknown;
    const hosts = await hostsConnectedDuring(async () => {
      error = await pool.executeCommand('GET', 'k').catch((e: unknown) => e);
    });
    try {
      expect(error).toBeInstanceOf(ClusterAddressError);
      expect((error as ClusterAddressError).address).toBe('10.255.255.1:7000');
      expect((error as Error).message).toContain('allowedHosts');
      expect(hosts).not.toContain(OUTSIDE.host);
      expect(hosts).toContain(fake.host);
      expect(inspect(error, { depth: 5 }) + JSON.stringify(pool)).not.toContain(PASSWORD);
      expect(JSON.stringify(pool.toJSON())).not.toContain(OUTSIDE.host);
      // The seed itself got the password; the refused host got nothing.
      expect(fake.commands.some((command) => command[0].toUpperCase() === 'AUTH')).toBe(true);
    } finally {
      await pool.disconnect();
    }
  });

  it('CLUSTER SHARDS naming a master outside: the topology is refused with ClusterAddressError', async () => {
    master = { host: '10.255.255.2', port: 7001 };
    const pool = seedPool();
    let error: unknown;
    const hosts = await hostsConnectedDuring(async () => {
      error = await pool.executeCommand('SET', 'k', 'v').catch((e: unknown) => e);
    });
    try {
      expect(error).toBeInstanceOf(ClusterAddressError);
      expect((error as ClusterAddressError).address).toBe('10.255.255.2:7001');
      expect(hosts).not.toContain('10.255.255.2');
    } finally {
      await pool.disconnect();
    }
  });

  it('a replica outside is left out of the topology; the shard is served by its master', async () => {
    replica = { ...OUTSIDE };
    const pool = seedPool({ readFrom: 'preferReplica' });
    try {
      const hosts = await hostsConnectedDuring(async () => {
        await pool.refresh();
        expect(await pool.executeCommand('SET', 'k', 'v')).toBe('OK');
      });
      expect(pool.toJSON().nodes).toEqual([{ master: `${fake.host}:${fake.port}`, replicas: [] }]);
      expect(hosts).not.toContain(OUTSIDE.host);
    } finally {
      await pool.disconnect();
    }
  });

  it('allowedHosts lets the MOVED through: the pool connects there (and fails typed: nothing listens)', async () => {
    const pool = seedPool({ allowedHosts: ['10.255.255.0/24'], commandTimeoutMs: 1000 });
    let error: unknown;
    const hosts = await hostsConnectedDuring(async () => {
      error = await pool.executeCommand('GET', 'k').catch((e: unknown) => e);
    });
    try {
      expect(hosts).toContain(OUTSIDE.host);
      expect(error).toBeInstanceOf(RedisError);
      expect(error).not.toBeInstanceOf(ClusterAddressError);
    } finally {
      await pool.disconnect();
    }
  });

  it('natMap maps the MOVED target: the command is answered where the map says', async () => {
    const pool = seedPool({
      natMap: { [`${OUTSIDE.host}:${OUTSIDE.port}`]: { host: target.host, port: target.port } },
    });
    try {
      const hosts = await hostsConnectedDuring(async () => {
        expect(await pool.executeCommand('GET', 'k')).toBe('from-the-mapped-node');
      });
      expect(hosts).not.toContain(OUTSIDE.host);
    } finally {
      await pool.disconnect();
    }
  });
});

describe('AddressPolicy: the seeds networks', () => {
  const allows = (seeds: string[], host: string, allowed: string[] = []) =>
    new AddressPolicy(
      seeds.map((seed) => ({ host: seed, port: 6379 })),
      allowed,
      undefined,
    ).allows(host);

  it.each([
    [['10.0.3.17'], '10.0.3.200', true],
    [['10.0.3.17'], '10.0.4.1', false],
    [['127.0.0.1'], '127.0.0.5', true],
    [['127.0.0.1'], 'localhost', true],
    [['localhost'], '127.0.0.1', true],
    [['localhost'], '::1', true],
    [['127.0.0.1'], '10.0.0.1', false],
    [['10.0.0.1'], '127.0.0.1', false],
    [['redis-1.prod.example.com'], 'redis-7.prod.example.com', true],
    [['redis-1.prod.example.com'], 'REDIS-7.PROD.EXAMPLE.COM', true],
    [['redis-1.prod.example.com'], 'evil.example.com', false],
    [['example.com'], 'evil.com', false],
    [['redis'], 'redis', true],
    [['redis'], 'other', false],
    [['fd00:1:2:3::10'], 'fd00:1:2:3::99', true],
    [['fd00:1:2:3::10'], 'fd00:1:2:4::10', false],
  ])('seeds %j: %s allowed = %s', (seeds, host, expected) => {
    expect(allows(seeds, host)).toBe(expected);
  });

  it.each([
    [['10.255.0.0/16'], '10.255.3.4', true],
    [['10.255.0.0/16'], '10.254.3.4', false],
    [['.corp.example'], 'a.b.corp.example', true],
    [['*.corp.example'], 'a.corp.example', true],
    [['*.corp.example'], 'corp.example.evil', false],
    [['203.0.113.9'], '203.0.113.9', true],
    [['203.0.113.9'], '203.0.113.10', false],
    [['node-a'], 'NODE-A', true],
    [['*'], '198.51.100.1', true],
  ])('allowedHosts %j: %s allowed = %s', (allowed, host, expected) => {
    expect(allows(['127.0.0.1'], host, allowed)).toBe(expected);
  });

  it('the Nest module knows the new cluster keys, and suggests them for typos', () => {
    const nodes = [{ host: '127.0.0.1', port: 7000 }];
    expect(() =>
      checkModuleOptions(
        { cluster: { nodes, natMap: {}, allowedHosts: ['10.0.0.0/8'], stallTimeoutMs: 500 } },
        'default',
      ),
    ).not.toThrow();
    expect(() =>
      checkModuleOptions({ cluster: { nodes, allowedhosts: [] } as never }, 'default'),
    ).toThrow(/allowedHosts/);
  });

  it('bad allowedHosts and natMap options are configuration errors naming the entry', () => {
    const seeds = [{ host: '127.0.0.1', port: 7000 }];
    for (const [options, text] of [
      [{ allowedHosts: '10.0.0.0/8' }, 'must be a list'],
      [{ allowedHosts: ['10.0.0.0/33'] }, 'not a valid CIDR'],
      [{ allowedHosts: ['a b'] }, 'must be a host'],
      [{ allowedHosts: [''] }, 'must be a host'],
      [{ natMap: 'x' }, 'natMap must be an object or a function'],
      [{ natMap: { 'a:1': { host: 'b' } } }, 'must map to { host, port }'],
      [{ natMap: { nope: { host: 'b', port: 1 } } }, "must be 'host:port'"],
      [{ natmap: {} }, 'natMap'],
      [{ allowedhosts: [] }, 'allowedHosts'],
      [{ stallTimeoutMs: -1 }, 'stallTimeoutMs'],
      [{ readFrom: 'replicas' }, "'preferReplica'"],
    ] as const) {
      expect(() => new ClusterPool({ nodes: seeds, ...(options as object) })).toThrow(
        ConfigurationError,
      );
      expect(() => new ClusterPool({ nodes: seeds, ...(options as object) })).toThrow(text);
    }
  });
});
