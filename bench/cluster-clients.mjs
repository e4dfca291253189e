// Cluster adapters with the surface of clients.mjs that the cluster scenarios use (get, set, getBuffer, close),
// each given the seed nodes [{ host, port }] of the throwaway cluster that run.mjs spawns. No pipeline: a
// multi-key pipeline means something different on every cluster client, and no scenario runs one.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

async function oursCluster(nodes) {
  // The core alone, like the single-node adapter: ClusterPool with default options (10 connections per node).
  const { ClusterPool } = require('../dist/index.js');
  const pool = new ClusterPool({ nodes });
  await pool.executeCommand('PING');
  return {
    get: (k) => pool.executeCommand('GET', k),
    set: (k, v) => pool.executeCommand('SET', k, v),
    getBuffer: (k) => pool.execute('GET', [k], { buffers: true }),
    close: () => pool.disconnect(),
  };
}

async function ioredisCluster(nodes, { autoPipelining = false } = {}) {
  const { Cluster } = await import('ioredis');
  const cluster = new Cluster(nodes, { enableAutoPipelining: autoPipelining, lazyConnect: true });
  await cluster.connect();
  return {
    get: (k) => cluster.get(k),
    set: (k, v) => cluster.set(k, v),
    getBuffer: (k) => cluster.getBuffer(k),
    close: async () => cluster.quit(),
  };
}

async function nodeRedisCluster(nodes) {
  const { createCluster, RESP_TYPES } = await import('redis');
  const cluster = createCluster({ rootNodes: nodes.map((socket) => ({ socket })) });
  cluster.on('error', () => undefined);
  await cluster.connect();
  const buffers = cluster.withTypeMapping({ [RESP_TYPES.BLOB_STRING]: Buffer });
  return {
    get: (k) => cluster.get(k),
    set: (k, v) => cluster.set(k, v),
    getBuffer: (k) => buffers.get(k),
    close: async () => cluster.close(),
  };
}

/** Cluster clients by the name the table prints; `o.nodes` are the seed nodes. */
export const CLUSTER_CLIENTS = {
  'nestjs-redis-pool (cluster)': (_port, o) => oursCluster(o.nodes),
  'ioredis Cluster': (_port, o) => ioredisCluster(o.nodes),
  'ioredis Cluster (auto-pipelining)': (_port, o) =>
    ioredisCluster(o.nodes, { autoPipelining: true }),
  'node-redis cluster': (_port, o) => nodeRedisCluster(o.nodes),
};
