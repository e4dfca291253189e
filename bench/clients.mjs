// One adapter per client under test, all with the same small surface:
// get(key), set(key, value), getBuffer(key), pipeline([[cmd, ...args], ...]), close().
import { createRequire } from 'node:module';
import { createCeilingClient } from './ceiling-client.mjs';
import { CLUSTER_CLIENTS } from './cluster-clients.mjs';

const require = createRequire(import.meta.url);

async function ours(port, { dispatch = 'multiplexed', maxConnections = 10 } = {}) {
  // The core alone, as an app that already loads Nest would add nothing else; the peers load no framework either.
  const { ConnectionPool } = require('../dist/pool/connection-pool.js');
  const pool = new ConnectionPool({ host: '127.0.0.1', port, dispatch, maxConnections });
  await pool.executeCommand('PING');
  return {
    get: (k) => pool.executeCommand('GET', k),
    set: (k, v) => pool.executeCommand('SET', k, v),
    getBuffer: (k) => pool.execute('GET', [k], { buffers: true }),
    // Commands issued in one tick leave in one write: a pipeline is simply all of them at once.
    pipeline: (cmds) =>
      Promise.all(cmds.map(([cmd, ...args]) => pool.executeCommand(cmd, ...args))),
    close: () => pool.disconnect(),
  };
}

async function ioredis(port, { autoPipelining = false } = {}) {
  const { default: Redis } = await import('ioredis');
  const client = new Redis({
    host: '127.0.0.1',
    port,
    enableAutoPipelining: autoPipelining,
    lazyConnect: true,
  });
  await client.connect();
  return {
    get: (k) => client.get(k),
    set: (k, v) => client.set(k, v),
    getBuffer: (k) => client.getBuffer(k),
    pipeline: (cmds) =>
      client.pipeline(cmds.map(([cmd, ...rest]) => [cmd.toLowerCase(), ...rest])).exec(),
    close: async () => client.quit(),
  };
}

async function nodeRedis(port) {
  const { createClient, RESP_TYPES } = await import('redis');
  const client = createClient({ socket: { host: '127.0.0.1', port } });
  client.on('error', () => undefined);
  await client.connect();
  const buffers = client.withTypeMapping({ [RESP_TYPES.BLOB_STRING]: Buffer });
  return {
    get: (k) => client.get(k),
    set: (k, v) => client.set(k, v),
    getBuffer: (k) => buffers.get(k),
    pipeline: (cmds) => {
      const multi = client.multi();
      for (const c of cmds) multi.addCommand(c.map(String));
      return multi.execAsPipeline();
    },
    close: async () => client.close(),
  };
}

async function nodeRedisPool(port, { maxConnections = 10 } = {}) {
  const { createClientPool } = await import('redis');
  const pool = createClientPool(
    { socket: { host: '127.0.0.1', port } },
    { minimum: maxConnections, maximum: maxConnections, acquireTimeout: 60_000 },
  );
  pool.on('error', () => undefined);
  await pool.connect();
  return {
    get: (k) => pool.get(k),
    set: (k, v) => pool.set(k, v),
    getBuffer: (k) => pool.get(k),
    pipeline: (cmds) =>
      pool.execute((c) => {
        const multi = c.multi();
        for (const cmd of cmds) multi.addCommand(cmd.map(String));
        return multi.execAsPipeline();
      }),
    close: async () => pool.close(),
  };
}

async function glide(port) {
  const { GlideClient, Batch } = await import('@valkey/valkey-glide');
  const client = await GlideClient.createClient({
    addresses: [{ host: '127.0.0.1', port }],
    requestTimeout: 60_000,
  });
  return {
    get: (k) => client.get(k),
    set: (k, v) => client.set(k, v),
    getBuffer: (k) => client.get(k, { decoder: 'bytes' }),
    pipeline: (cmds) => {
      const batch = new Batch(false);
      for (const c of cmds) batch.customCommand(c.map(String));
      return client.exec(batch, false);
    },
    close: async () => client.close(),
  };
}

/** Every client the suite knows, by the name the table prints. */
export const CLIENTS = {
  'nestjs-redis-pool': (port) => ours(port),
  'nestjs-redis-pool (exclusive)': (port, o) =>
    ours(port, { dispatch: 'exclusive', maxConnections: o?.poolSize ?? 10 }),
  ioredis: (port) => ioredis(port),
  'ioredis (auto-pipelining)': (port) => ioredis(port, { autoPipelining: true }),
  'node-redis': (port) => nodeRedis(port),
  'node-redis (pool)': (port, o) => nodeRedisPool(port, { maxConnections: o?.poolSize ?? 10 }),
  'valkey-glide': (port) => glide(port),
  ceiling: (port) => createCeilingClient(port),
  ...CLUSTER_CLIENTS,
};
