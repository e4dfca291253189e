import { ClusterError } from '../errors/redis-pool.errors';
import type { RedisReply } from '../protocol/resp.types';

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
