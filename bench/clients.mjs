// One adapter per client under test, all with the same small surface:
// get(key), set(key, value), getBuffer(key), pipeline([[cmd, ...args], ...]), close(), and for the pub/sub
// scenario publish(channel, message) and subscribe(channel, onMessage) (a second connection, resolved once
// subscribed). Options: poolSize, nodes (cluster), tls ({ ca }: connect over TLS, verifying against that CA).
import { createRequire } from 'node:module';
import { createCeilingClient } from './ceiling-client.mjs';
import { createImmediateCeilingClient } from './ceiling-immediate.mjs';
import { CLUSTER_CLIENTS } from './cluster-clients.mjs';

const require = createRequire(import.meta.url);

async function ours(port, { dispatch = 'multiplexed', maxConnections = 10, tls } = {}) {
  // The core alone, as an app that already loads Nest would add nothing else; the peers load no framework either.
  const { ConnectionPool } = require('../dist/pool/connection-pool.js');
  const { Subscriber } = require('../dist/client/subscriber.js');
  const pool = new ConnectionPool({ host: '127.0.0.1', port, dispatch, maxConnections, tls });
  await pool.executeCommand('PING');
  let subscriber;
  return {
    publish: (channel, message) => pool.executeCommand('PUBLISH', channel, message),
    subscribe: async (channel, onMessage) => {
      subscriber = new Subscriber(pool);
      await subscriber.subscribe('channel', [channel], onMessage);
    },
    get: (k) => pool.executeCommand('GET', k),
    set: (k, v) => pool.executeCommand('SET', k, v),
    getBuffer: (k) => pool.execute('GET', [k], { buffers: true }),
    // Commands issued in one tick leave in one write: a pipeline is simply all of them at once (`execute` takes
    // the arguments as one array, as the ceiling's `send` does).
    pipeline: (cmds) => Promise.all(cmds.map((cmd) => pool.execute(cmd[0], cmd.slice(1)))),
    close: async () => {
      await subscriber?.close();
      await pool.disconnect();
    },
  };
}

async function ioredis(port, { autoPipelining = false, tls } = {}) {
  const { default: Redis } = await import('ioredis');
  const options = {
    host: '127.0.0.1',
    port,
    enableAutoPipelining: autoPipelining,
    lazyConnect: true,
    tls,
  };
  const client = new Redis(options);
  await client.connect();
  let subscriber;
  return {
    publish: (channel, message) => client.publish(channel, message),
    subscribe: async (channel, onMessage) => {
      subscriber = new Redis(options);
      await subscriber.connect();
      subscriber.on('message', (ch, message) => onMessage(message, ch));
      await subscriber.subscribe(channel);
    },
    get: (k) => client.get(k),
    set: (k, v) => client.set(k, v),
    getBuffer: (k) => client.getBuffer(k),
    pipeline: (cmds) =>
      client.pipeline(cmds.map(([cmd, ...rest]) => [cmd.toLowerCase(), ...rest])).exec(),
    close: async () => {
      await subscriber?.quit();
      await client.quit();
    },
  };
}

async function nodeRedis(port, { tls } = {}) {
  const { createClient, RESP_TYPES } = await import('redis');
  const socket = tls ? { host: '127.0.0.1', port, tls: true, ...tls } : { host: '127.0.0.1', port };
  const client = createClient({ socket });
  client.on('error', () => undefined);
  await client.connect();
  const buffers = client.withTypeMapping({ [RESP_TYPES.BLOB_STRING]: Buffer });
  let subscriber;
  return {
    publish: (channel, message) => client.publish(channel, message),
    subscribe: async (channel, onMessage) => {
      subscriber = client.duplicate();
      subscriber.on('error', () => undefined);
      await subscriber.connect();
      await subscriber.subscribe(channel, onMessage);
    },
    get: (k) => client.get(k),
    set: (k, v) => client.set(k, v),
    getBuffer: (k) => buffers.get(k),
    pipeline: (cmds) => {
      const multi = client.multi();
      for (const c of cmds) multi.addCommand(c.map(String));
      return multi.execAsPipeline();
    },
    close: async () => {
      await subscriber?.close();
      await client.close();
    },
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

async function glide(port, { tls } = {}) {
  const { GlideClient, GlideClientConfiguration, Batch } = await import('@valkey/valkey-glide');
  const config = {
    addresses: [{ host: '127.0.0.1', port }],
    requestTimeout: 60_000,
    ...(tls
      ? {
          useTLS: true,
          advancedConfiguration: { tlsAdvancedConfiguration: { rootCertificates: tls.ca } },
        }
      : {}),
  };
  const client = await GlideClient.createClient(config);
  let subscriber;
  return {
    publish: (channel, message) => client.publish(message, channel),
    // GLIDE subscribes at connection time, from its configuration: the subscriber is a second client.
    subscribe: async (channel, onMessage) => {
      subscriber = await GlideClient.createClient({
        ...config,
        pubsubSubscriptions: {
          channelsAndPatterns: {
            [GlideClientConfiguration.PubSubChannelModes.Exact]: new Set([channel]),
          },
          callback: (msg) => onMessage(msg.message, msg.channel),
        },
      });
    },
    get: (k) => client.get(k),
    set: (k, v) => client.set(k, v),
    getBuffer: (k) => client.get(k, { decoder: 'bytes' }),
    pipeline: (cmds) => {
      const batch = new Batch(false);
      for (const c of cmds) batch.customCommand(c.map(String));
      return client.exec(batch, false);
    },
    close: async () => {
      subscriber?.close();
      client.close();
    },
  };
}

/** Every client the suite knows, by the name the table prints. */
export const CLIENTS = {
  'nestjs-redis-pool': (port, o) => ours(port, { tls: o?.tls }),
  'nestjs-redis-pool (exclusive)': (port, o) =>
    ours(port, { dispatch: 'exclusive', maxConnections: o?.poolSize ?? 10 }),
  ioredis: (port, o) => ioredis(port, { tls: o?.tls }),
  'ioredis (auto-pipelining)': (port, o) => ioredis(port, { autoPipelining: true, tls: o?.tls }),
  'node-redis': (port, o) => nodeRedis(port, { tls: o?.tls }),
  'node-redis (pool)': (port, o) => nodeRedisPool(port, { maxConnections: o?.poolSize ?? 10 }),
  'valkey-glide': (port, o) => glide(port, { tls: o?.tls }),
  ceiling: (port, o) => createImmediateCeilingClient(port, { tls: o?.tls }),
  'ceiling (nextTick)': (port) => createCeilingClient(port),
  ...CLUSTER_CLIENTS,
};
