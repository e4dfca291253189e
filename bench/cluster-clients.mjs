// Cluster adapters with the surface of clients.mjs that the cluster scenarios use (get, set, getBuffer,
// pipeline, mget, close), each given the seed nodes [{ host, port }] of the throwaway cluster that run.mjs spawns.
// A pipeline of GET/SET on keys over every slot is, on each client, what it offers for that: ours routes each
// command and every node gets its share in one write per turn; ioredis and node-redis have no cross-node
// pipeline, so all the commands are issued at once (ioredis's auto-pipelining variant then batches them per node).
// A cross-slot MGET is one call on ours (split per slot inside); the peers refuse it (CROSSSLOT), so their adapter
// is the per-slot loop an application writes: keys grouped by slot, one MGET per slot at once, values put back.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/** Keys grouped by hash slot: [[slot keys...], ...] and, for each group, where its keys were. */
function bySlot(keys) {
  const slotOf = require('cluster-key-slot');
  const groups = new Map();
  keys.forEach((key, i) => {
    const slot = slotOf(key);
    let group = groups.get(slot);
    if (group === undefined) groups.set(slot, (group = { keys: [], at: [] }));
    group.keys.push(key);
    group.at.push(i);
  });
  return [...groups.values()];
}

/** MGET as a per-slot loop over a client whose `mget(keys)` takes keys of one slot. */
async function perSlotMget(mget, keys) {
  const groups = bySlot(keys);
  const replies = await Promise.all(groups.map((group) => mget(group.keys)));
  const values = new Array(keys.length);
  groups.forEach((group, g) => group.at.forEach((at, i) => (values[at] = replies[g][i])));
  return values;
}

async function oursCluster(nodes) {
  // The core alone, like the single-node adapter: ClusterPool with default options (10 connections per node).
  const { ClusterPool } = require('../dist/index.js');
  const pool = new ClusterPool({ nodes });
  await pool.executeCommand('PING');
  return {
    get: (k) => pool.executeCommand('GET', k),
    set: (k, v) => pool.executeCommand('SET', k, v),
    getBuffer: (k) => pool.execute('GET', [k], { buffers: true }),
    pipeline: (cmds) =>
      Promise.all(cmds.map(([cmd, ...args]) => pool.executeCommand(cmd, ...args))),
    mget: (keys) => pool.execute('MGET', keys),
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
    pipeline: (cmds) =>
      Promise.all(cmds.map(([cmd, k, v]) => (cmd === 'SET' ? cluster.set(k, v) : cluster.get(k)))),
    mget: (keys) => perSlotMget((group) => cluster.mget(group), keys),
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
    pipeline: (cmds) =>
      Promise.all(cmds.map(([cmd, k, v]) => (cmd === 'SET' ? cluster.set(k, v) : cluster.get(k)))),
    mget: (keys) => perSlotMget((group) => cluster.mGet(group), keys),
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
