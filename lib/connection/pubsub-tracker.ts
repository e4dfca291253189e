import type { RedisArgument, RedisReply } from '../protocol/resp.types';

const MESSAGE_KINDS = new Set(['message', 'pmessage', 'smessage']);
const CONFIRMATION_KINDS = new Set([
  'subscribe',
  'psubscribe',
  'ssubscribe',
  'unsubscribe',
  'punsubscribe',
  'sunsubscribe',
]);

function text(value: RedisReply | undefined): string {
  return Buffer.isBuffer(value) ? value.toString('utf8') : String(value);
}

/**
 * Keeps a connection's subscriptions, so that (UN)SUBSCRIBE calls know how many confirmations to wait for and
 * pub/sub frames are told apart from replies.
 */
export class PubSubTracker {
  private readonly channels = new Set<string>();
  private readonly patterns = new Set<string>();
  private readonly shardChannels = new Set<string>();

  /** Channels, patterns and shard channels subscribed. */
  get count(): number {
    return this.channels.size + this.patterns.size + this.shardChannels.size;
  }

  /** A pub/sub message or (un)subscribe confirmation, as RESP2 arrays and RESP3 pushes carry them. */
  static isPubSubFrame(reply: RedisReply): reply is RedisReply[] {
    if (!Array.isArray(reply) || reply.length < 3) return false;
    const kind = reply[0];
    if (typeof kind !== 'string' && !Buffer.isBuffer(kind)) return false;
    const name = text(kind);
    return MESSAGE_KINDS.has(name) || CONFIRMATION_KINDS.has(name);
  }

  /** Confirmations an (UN)SUBSCRIBE command will receive: one per argument, or one per current member. */
  expectedConfirmations(name: string, args: readonly RedisArgument[]): number {
    if (args.length > 0) return args.length;
    const set = this.setFor(name.toLowerCase());
    return Math.max(1, set?.size ?? 1);
  }

  /** Records a confirmation and returns its subscription count; `undefined` for a message. */
  apply(frame: RedisReply[]): number | undefined {
    const kind = text(frame[0]);
    if (MESSAGE_KINDS.has(kind)) return undefined;
    const set = this.setFor(kind);
    const member = frame[1];
    if (set !== undefined && member !== null) {
      if (kind.endsWith('unsubscribe')) set.delete(text(member));
      else set.add(text(member));
    }
    return Number(frame[2]);
  }

  private setFor(kind: string): Set<string> | undefined {
    if (kind === 'subscribe' || kind === 'unsubscribe') return this.channels;
    if (kind === 'psubscribe' || kind === 'punsubscribe') return this.patterns;
    if (kind === 'ssubscribe' || kind === 'sunsubscribe') return this.shardChannels;
    return undefined;
  }
}
