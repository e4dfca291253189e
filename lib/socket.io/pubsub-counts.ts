import type { RedisPool } from '../pool/redis-pool.interface';
import type { RedisArgument, RedisReply } from '../protocol/resp.types';

/** PUBSUB subcommands whose counts are per node, so a cluster's total is the sum over its masters. */
const SUMMED = new Set(['NUMSUB', 'SHARDNUMSUB', 'NUMPAT']);
/** PUBSUB subcommands listing names per node, so a cluster's list is the union over its masters. */
const UNITED = new Set(['CHANNELS', 'SHARDCHANNELS']);

function word(value: RedisArgument | undefined): string {
  if (value === undefined) return '';
  return (typeof value === 'object' ? Buffer.from(value).toString() : String(value)).toUpperCase();
}

/**
 * Whether `args` is a PUBSUB query that must visit every master of a cluster: subscriptions live on the node the
 * subscriber is connected to, so one node only knows its own (socket.io's `serverCount()` asks
 * `PUBSUB NUMSUB` / `SHARDNUMSUB` how many servers listen).
 */
export function isPerNodePubSubQuery(args: readonly RedisArgument[]): boolean {
  if (word(args[0]) !== 'PUBSUB') return false;
  const sub = word(args[1]);
  return SUMMED.has(sub) || UNITED.has(sub);
}

/**
 * Runs a PUBSUB NUMSUB / SHARDNUMSUB / NUMPAT / CHANNELS / SHARDCHANNELS query on every pool in `pools` and
 * combines the replies as one server would have answered: counts summed per channel (`[channel, count, ...]`),
 * NUMPAT summed, channel lists united. Replicas are not asked: this package's subscribers are on masters.
 */
export async function perNodePubSub(
  pools: readonly RedisPool[],
  args: readonly RedisArgument[],
): Promise<RedisReply> {
  const rest = args.slice(1);
  const replies = await Promise.all(pools.map((pool) => pool.execute<RedisReply>('PUBSUB', rest)));
  const sub = word(args[1]);
  if (sub === 'NUMPAT') return replies.reduce<number>((sum, reply) => sum + Number(reply), 0);
  if (UNITED.has(sub)) {
    const names = new Set<string>();
    for (const reply of replies) for (const name of reply as string[]) names.add(String(name));
    return [...names];
  }
  const combined: RedisReply[] = [];
  const first = (replies[0] ?? []) as RedisReply[];
  for (let i = 0; i < first.length; i += 2) {
    let count = 0;
    for (const reply of replies) count += Number((reply as RedisReply[])[i + 1] ?? 0);
    combined.push(first[i], count);
  }
  return combined;
}
