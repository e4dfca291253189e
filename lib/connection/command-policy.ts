import type { RedisArgument } from '../protocol/resp.types';

/**
 * Commands that never change data. When the connection carrying one dies after it was written, the pool may
 * send it again without risk of running it twice.
 */
// prettier-ignore
const READ_ONLY = new Set([
  'BITCOUNT', 'BITFIELD_RO', 'BITPOS', 'DBSIZE', 'DUMP', 'ECHO', 'EVAL_RO', 'EVALSHA_RO', 'EXISTS', 'EXPIRETIME',
  'FCALL_RO', 'GEODIST', 'GEOHASH', 'GEOPOS', 'GEORADIUS_RO', 'GEORADIUSBYMEMBER_RO', 'GEOSEARCH', 'GET',
  'GETBIT', 'GETRANGE', 'HEXISTS', 'HGET', 'HGETALL', 'HKEYS', 'HLEN', 'HMGET', 'HRANDFIELD', 'HSCAN',
  'HSTRLEN', 'HVALS', 'INFO', 'KEYS', 'LCS', 'LINDEX', 'LLEN', 'LOLWUT', 'LPOS', 'LRANGE', 'MGET', 'PEXPIRETIME',
  'PFCOUNT', 'PING', 'PTTL', 'RANDOMKEY', 'SCAN', 'SCARD', 'SDIFF', 'SINTER', 'SINTERCARD', 'SISMEMBER',
  'SMEMBERS', 'SMISMEMBER', 'SORT_RO', 'SRANDMEMBER', 'SSCAN', 'STRLEN', 'SUBSTR', 'SUNION', 'TIME', 'TTL',
  'TYPE', 'XINFO', 'XLEN', 'XPENDING', 'XRANGE', 'XREVRANGE', 'ZCARD', 'ZCOUNT', 'ZDIFF', 'ZINTER',
  'ZINTERCARD', 'ZLEXCOUNT', 'ZMSCORE', 'ZRANDMEMBER', 'ZRANGE', 'ZRANGEBYLEX', 'ZRANGEBYSCORE', 'ZRANK',
  'ZREVRANGE', 'ZREVRANGEBYLEX', 'ZREVRANGEBYSCORE', 'ZREVRANK', 'ZSCAN', 'ZSCORE', 'ZUNION',
]);

/** Commands that block their connection until data arrives or their own timeout passes. */
// prettier-ignore
const BLOCKING = new Set([
  'BLPOP', 'BRPOP', 'BRPOPLPUSH', 'BLMOVE', 'BLMPOP', 'BZPOPMIN', 'BZPOPMAX', 'BZMPOP', 'WAIT', 'WAITAOF',
]);

/** Commands that change the state of the connection they run on. */
// prettier-ignore
const STATEFUL = new Set([
  'WATCH', 'UNWATCH', 'MULTI', 'EXEC', 'DISCARD', 'SELECT', 'RESET', 'QUIT', 'HELLO', 'AUTH',
]);

/** The `RedisService` helper that runs each blocking command on a lease of its own, for refusal messages. */
const BLOCKING_HELPERS = new Map([
  ['BLPOP', 'blpop()'],
  ['BRPOP', 'brpop()'],
  ['BLMOVE', 'blmove()'],
  ['BZPOPMIN', 'bzpopmin()'],
  ['BZPOPMAX', 'bzpopmax()'],
  ['XREAD', 'xread(..., { block })'],
  ['XREADGROUP', 'xreadgroup(..., { block })'],
]);

const SUBSCRIBE = new Set([
  'SUBSCRIBE',
  'PSUBSCRIBE',
  'SSUBSCRIBE',
  'UNSUBSCRIBE',
  'PUNSUBSCRIBE',
  'SUNSUBSCRIBE',
]);

/**
 * Bits of what a command is, from one map lookup on the hot path. `READ_ONLY_FLAG`: the command may be sent again
 * after its connection died with it in flight.
 */
export const READ_ONLY_FLAG = 1;
const SPECIAL_FLAG = 2;
const FLAGS = new Map<string, number>();
for (const name of READ_ONLY) FLAGS.set(name, READ_ONLY_FLAG);
for (const set of [BLOCKING, STATEFUL, SUBSCRIBE])
  for (const name of set) FLAGS.set(name, SPECIAL_FLAG);
for (const name of ['CLIENT', 'XREAD', 'XREADGROUP', 'MONITOR', 'SYNC', 'PSYNC', 'REPLCONF'])
  FLAGS.set(name, SPECIAL_FLAG);

/**
 * CLIENT subcommands that leave the connection they run on as it was, so they may share it. Every other one
 * (REPLY, TRACKING, SETNAME, SETINFO, NO-TOUCH, NO-EVICT, CACHING, unknown ones) needs a lease.
 */
// prettier-ignore
const SHARED_CLIENT_SUBCOMMANDS = new Set([
  'ID', 'INFO', 'LIST', 'GETNAME', 'GETREDIR', 'TRACKINGINFO', 'KILL', 'PAUSE', 'UNPAUSE', 'UNBLOCK', 'HELP',
]);

/** The command's flags: `READ_ONLY_FLAG`, or a bit saying the shared path must look at it more closely. */
export function commandFlags(name: string): number {
  return FLAGS.get(name) ?? 0;
}

/** Whether a command belongs to the pub/sub family whose replies arrive as confirmations. */
export function isSubscribeCommand(name: string): boolean {
  return SUBSCRIBE.has(name);
}

function argText(arg: RedisArgument | undefined): string {
  return arg === undefined
    ? ''
    : String(typeof arg === 'object' ? Buffer.from(arg).toString() : arg).toUpperCase();
}

/** Whether an XREAD/XREADGROUP call carries the BLOCK option. */
function hasBlockOption(args: readonly RedisArgument[]): boolean {
  for (const arg of args) {
    const text = argText(arg);
    if (text === 'BLOCK') return true;
    if (text === 'STREAMS') return false;
  }
  return false;
}

/**
 * Why a command may not run on a shared, multiplexed connection, or `undefined` when it may. The reason names
 * the API to use instead.
 */
export function sharedPathRefusal(
  name: string,
  args: readonly RedisArgument[],
  flags = commandFlags(name),
): string | undefined {
  if ((flags & SPECIAL_FLAG) === 0) return undefined;
  if (BLOCKING.has(name) || ((name === 'XREAD' || name === 'XREADGROUP') && hasBlockOption(args))) {
    const helper = BLOCKING_HELPERS.get(name);
    return (
      `${name} blocks its connection, so it cannot run on the shared multiplexed path; use ` +
      `${helper !== undefined ? `redis.${helper} (RedisService, on a lease of its own), ` : ''}` +
      `redis.withConnection((c) => c.executeCommand('${name}', ...)) or pool.withConnection()`
    );
  }
  if (
    name === 'WATCH' ||
    name === 'UNWATCH' ||
    name === 'MULTI' ||
    name === 'EXEC' ||
    name === 'DISCARD'
  ) {
    return `${name} needs a connection of its own; use RedisService.multi(), RedisService.watch() or pool.withConnection()`;
  }
  if (SUBSCRIBE.has(name)) {
    return `${name} turns its connection into a subscriber; use RedisService.subscribe()/psubscribe()/ssubscribe()`;
  }
  if (STATEFUL.has(name)) {
    return `${name} changes the state of its connection, so it cannot run on the shared multiplexed path; set it in the pool options or use pool.withConnection()`;
  }
  if (name === 'CLIENT') {
    const sub = argText(args[0]);
    if (!SHARED_CLIENT_SUBCOMMANDS.has(sub)) {
      return `CLIENT ${sub} changes the state of its connection (or is unknown to the pool), so it cannot run on the shared multiplexed path; use pool.withConnection() (CLIENT REPLY is not supported at all)`;
    }
  }
  return unsupported(name, args);
}

/** Why a command is refused even on a leased connection, or `undefined`. */
export function unsupported(name: string, args: readonly RedisArgument[]): string | undefined {
  if (name === 'MONITOR')
    return 'MONITOR is not supported: it turns the connection into an unbounded log stream';
  if (name === 'SYNC' || name === 'PSYNC' || name === 'REPLCONF') {
    return `${name} is not supported: it turns the connection into a replication stream`;
  }
  if (name === 'CLIENT' && argText(args[0]) === 'REPLY') {
    return 'CLIENT REPLY is not supported: replies that never come would desynchronise the connection';
  }
  return undefined;
}

/**
 * How long a blocking command may legitimately wait, in milliseconds, read from its own timeout argument;
 * `Infinity` for "block forever" (0), `0` for commands that do not block.
 */
export function blockingWaitMs(name: string, args: readonly RedisArgument[]): number {
  let seconds: number;
  switch (name) {
    case 'BLPOP':
    case 'BRPOP':
    case 'BZPOPMIN':
    case 'BZPOPMAX':
    case 'BRPOPLPUSH':
    case 'BLMOVE':
      seconds = Number(argText(args[args.length - 1]));
      break;
    case 'BLMPOP':
    case 'BZMPOP':
      seconds = Number(argText(args[0]));
      break;
    case 'WAIT':
    case 'WAITAOF':
      return millisOrForever(Number(argText(args[args.length - 1])));
    case 'XREAD':
    case 'XREADGROUP': {
      const at = args.findIndex((a) => argText(a) === 'BLOCK');
      return at === -1 ? 0 : millisOrForever(Number(argText(args[at + 1])));
    }
    default:
      return 0;
  }
  return millisOrForever(seconds * 1000);
}

function millisOrForever(ms: number): number {
  return !Number.isFinite(ms) || ms <= 0 ? Infinity : ms;
}
