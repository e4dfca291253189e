import { READ_ONLY_FLAG, commandFlags } from '../connection/command-policy';
import {
  ClusterError,
  ClusterFanOutError,
  ConnectionError,
  PoolClosedError,
  ResponseError,
  TimeoutError,
} from '../errors/redis-pool.errors';
import { backoffDelay } from '../pool/backoff';
import type { CommandOptions } from '../pool/redis-pool.interface';
import { commandName } from '../protocol/command-name';
import type { RedisArgument, RedisReply } from '../protocol/resp.types';
import type { ClusterContext } from './cluster-context';
import type { ClusterNode } from './cluster-map';

/** What a fan-out needs besides the cluster's context: refreshes, and waits that `disconnect()` cuts short. */
export interface FanOutHost {
  readonly context: ClusterContext;
  requestRefresh(): void;
  sleep(ms: number): Promise<void>;
}

/** Error replies that mean "the topology changed or is changing": ask the current owners again. */
const TOPOLOGY_CODES = new Set([
  'MOVED',
  'ASK',
  'READONLY',
  'TRYAGAIN',
  'CLUSTERDOWN',
  'LOADING',
  'MASTERDOWN',
]);

/** Retries of a fan-out when the call has no deadline. */
const MAX_FAN_OUT_ATTEMPTS = 30;

/**
 * A keyless command that every shard (`all_shards`: each master) or every node (`all_nodes`) must run. Each
 * target that fails because the topology changed (MOVED, READONLY from a demoted master, TRYAGAIN, CLUSTERDOWN,
 * a node dropped, a connection that failed before the command was written, or after for a read-only or
 * `retryable` command) is asked again after a refresh, with backoff, within the call's one deadline: a shard
 * whose master changed is asked through its new master, and no shard or node that already answered is asked
 * twice. The replies are combined by the response policy (see `combineReplies`).
 * @throws the command's own error when every target refused it the same way before running it (a syntax
 *   error); otherwise `ClusterFanOutError` naming the nodes that failed and those that succeeded.
 */
export async function runFanOut(
  host: FanOutHost,
  command: string,
  args: readonly RedisArgument[],
  options: CommandOptions | undefined,
  requestPolicy: 'all_shards' | 'all_nodes',
  responsePolicy: string | undefined,
): Promise<RedisReply> {
  const { config, map } = host.context;
  const timeoutMs = options?.timeoutMs ?? config.commandTimeoutMs;
  const deadline = timeoutMs > 0 ? Date.now() + timeoutMs : Infinity;
  const name = commandName(command);
  const resendable = options?.retryable === true || (commandFlags(name) & READ_ONLY_FLAG) !== 0;
  const done = new Map<string, RedisReply>();
  const failed = new Map<string, Error>();
  for (let attempt = 1; ; attempt++) {
    const targets =
      requestPolicy === 'all_nodes' ? pending(map.members(), done) : shardMasters(host, done);
    const remaining = deadline - Date.now();
    const callOptions: CommandOptions =
      deadline === Infinity ? { ...options } : { ...options, timeoutMs: Math.max(1, remaining) };
    const settled = await Promise.all(
      targets.map((node) =>
        node.pool.execute<RedisReply>(command, args, callOptions).then(
          (reply) => ({ node, reply, error: undefined }),
          (error: unknown) => ({
            node,
            reply: undefined,
            error: error instanceof Error ? error : new Error(String(error)),
          }),
        ),
      ),
    );
    failed.clear();
    for (const { node, reply, error } of settled) {
      if (error === undefined) done.set(node.key, reply as RedisReply);
      else failed.set(node.key, error);
    }
    if (failed.size === 0 || responsePolicy === 'one_succeeded') break;
    host.requestRefresh();
    const retry = [...failed.values()].every((error) => isTransient(error, resendable));
    if (!retry || host.context.isClosed()) break;
    if (deadline === Infinity && attempt >= MAX_FAN_OUT_ATTEMPTS) break;
    const { baseDelayMs, maxDelayMs } = config.backoff;
    const wait = Math.max(baseDelayMs, backoffDelay(attempt, baseDelayMs * 2, maxDelayMs));
    if (Date.now() + wait >= deadline) break;
    await host.sleep(wait);
    if (host.context.isClosed()) throw host.context.closedError();
  }
  if (failed.size === 0 || (responsePolicy === 'one_succeeded' && done.size > 0)) {
    return combineReplies(responsePolicy, [...done.values()]);
  }
  const errors = [...failed.values()];
  if (done.size === 0 && errors.every((error) => refusedAlike(error, errors[0]))) throw errors[0];
  const list = [...failed].map(([node, error]) => `${node} (${error.name}: ${error.message})`);
  throw new ClusterFanOutError(
    `${name} failed on ${failed.size} of ${failed.size + done.size} ${requestPolicy === 'all_nodes' ? 'nodes' : 'masters'}: ` +
      `${list.join('; ')}; it succeeded on ${done.size === 0 ? 'none' : [...done.keys()].join(', ')}`,
    {
      command: name,
      succeeded: [...done.keys()],
      failed: [...failed].map(([node, error]) => ({ node, error })),
    },
  );
}

/** The nodes not in `done`. */
function pending(nodes: readonly ClusterNode[], done: ReadonlyMap<string, unknown>): ClusterNode[] {
  return nodes.filter((node) => !done.has(node.key));
}

/** The master of every shard none of whose nodes answered yet (one that did may since have been demoted). */
function shardMasters(host: FanOutHost, done: ReadonlyMap<string, unknown>): ClusterNode[] {
  return host.context.map
    .shards()
    .filter(
      (shard) => !done.has(shard.master.key) && !shard.replicas.some((node) => done.has(node.key)),
    )
    .map((shard) => shard.master);
}

function isTransient(error: Error, resendable: boolean): boolean {
  if (error instanceof ResponseError) return TOPOLOGY_CODES.has(error.code);
  if (error instanceof PoolClosedError) return true;
  if (error instanceof ConnectionError || error instanceof TimeoutError) {
    return !error.commandMayHaveRun || resendable;
  }
  return error instanceof ClusterError;
}

/** The same error reply (or the same failure that ran nothing) everywhere: the command's own error. */
function refusedAlike(error: Error, first: Error): boolean {
  if (error instanceof ResponseError) {
    return (
      first instanceof ResponseError && error.code === first.code && !TOPOLOGY_CODES.has(error.code)
    );
  }
  return false;
}

/**
 * Combines the replies of a command sent to every shard or node (its `request_policy` tip) as its
 * `response_policy` tip says: `agg_sum`, `agg_min`, `agg_max`, `agg_logical_and`, `agg_logical_or` (element-wise
 * over arrays), `all_succeeded` (the first reply, once all succeeded), `one_succeeded` (the first success).
 * Without a policy, arrays are concatenated (KEYS) and anything else must be the same everywhere (FLUSHALL's OK).
 *
 * `settled` holds one entry per node: its reply, or the error it failed with.
 * @throws the first node's error, unless the policy is `one_succeeded` and one node succeeded.
 */
export function combineReplies(
  policy: string | undefined,
  settled: ReadonlyArray<RedisReply | Error>,
): RedisReply {
  if (policy === 'one_succeeded') {
    const success = settled.find((value) => !(value instanceof Error));
    if (success === undefined) throw settled[0] as Error;
    return success as RedisReply;
  }
  const failure = settled.find((value) => value instanceof Error);
  if (failure !== undefined) throw failure as Error;
  const replies = settled as RedisReply[];
  switch (policy) {
    case 'agg_sum':
      return replies.reduce<number>((sum, reply) => sum + Number(reply), 0);
    case 'agg_min':
      return Math.min(...replies.map(Number));
    case 'agg_max':
      return Math.max(...replies.map(Number));
    case 'agg_logical_and':
    case 'agg_logical_or':
      return elementWise(replies, policy === 'agg_logical_and');
    case 'all_succeeded':
      return replies[0];
    default:
      return replies.every(Array.isArray) ? replies.flat() : replies[0];
  }
}

function elementWise(replies: RedisReply[], and: boolean): RedisReply {
  const logical = (values: RedisReply[]): number =>
    (
      and
        ? values.every((value) => Number(value) !== 0)
        : values.some((value) => Number(value) !== 0)
    )
      ? 1
      : 0;
  if (!replies.every(Array.isArray)) return logical(replies);
  const arrays = replies as RedisReply[][];
  const length = arrays[0]?.length ?? 0;
  if (arrays.some((array) => array.length !== length)) {
    throw new ClusterError('Nodes answered with arrays of different lengths');
  }
  return Array.from({ length }, (_, i) => logical(arrays.map((array) => array[i])));
}
