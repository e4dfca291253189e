import type { RedisArgument } from '../protocol/resp.types';

/** What stands for a hidden argument. */
export const REDACTED = '?';

/**
 * How many leading arguments of a command may be shown: keys and structural words (subcommands, options),
 * never a value. `-1` shows them all (read commands whose arguments are keys, cursors, ranges or options).
 * Modelled on the rules of the OpenTelemetry Redis instrumentation (`@opentelemetry/redis-common`), made
 * stricter where those would show a value or a secret (`CONFIG SET`, `ACL SETUSER`, script arguments, list
 * elements). An unknown command shows no argument at all: AUTH, HELLO and custom commands are safe by default.
 */
interface RedactionRule {
  readonly pattern: RegExp;
  readonly shown: number;
}

const RULES: readonly RedactionRule[] = [
  // Secrets or values after a structural prefix.
  { pattern: /^(AUTH|HELLO|MIGRATE|ECHO|PING)$/, shown: 0 },
  { pattern: /^(CONFIG|ACL|CLIENT|MODULE|DEBUG|SENTINEL)$/, shown: 1 },
  // A key, then values.
  {
    pattern:
      /^(SET|SETNX|MSET|MSETNX|SETEX|PSETEX|SETRANGE|GETSET|APPEND|LPUSH|LPUSHX|RPUSH|RPUSHX|LPOS|LREM|SADD|SREM|SMISMEMBER|SISMEMBER|ZADD|ZREM|ZSCORE|ZMSCORE|ZRANK|ZREVRANK|ZINCRBY|PFADD|XADD|PUBLISH|SPUBLISH|GEOADD|GEOPOS|GEODIST|GEOHASH|RESTORE)$/,
    shown: 1,
  },
  { pattern: /^(HSET|HSETNX|HMSET|LSET|LINSERT|SMOVE|HINCRBY|HINCRBYFLOAT)$/, shown: 2 },
  // Scripts: the script (or its SHA / function name) and numkeys; `keyedScript` adds the keys.
  { pattern: /^(EVAL|EVALSHA|EVAL_RO|EVALSHA_RO|FCALL|FCALL_RO)$/, shown: 2 },
  // Keys, cursors, ranges and options only.
  {
    pattern:
      /^(GET|GETEX|GETDEL|GETRANGE|MGET|STRLEN|DEL|UNLINK|EXISTS|EXPIRE|PEXPIRE|EXPIREAT|PEXPIREAT|EXPIRETIME|PEXPIRETIME|TTL|PTTL|PERSIST|TYPE|TOUCH|RENAME|RENAMENX|COPY|DUMP|OBJECT|KEYS|SCAN|HSCAN|SSCAN|ZSCAN|INCR|INCRBY|INCRBYFLOAT|DECR|DECRBY|HGET|HMGET|HGETALL|HDEL|HEXISTS|HKEYS|HVALS|HLEN|HSTRLEN|HRANDFIELD|LLEN|LRANGE|LINDEX|LTRIM|LPOP|RPOP|LMOVE|RPOPLPUSH|LMPOP|BLPOP|BRPOP|BLMOVE|BLMPOP|BRPOPLPUSH|SCARD|SMEMBERS|SINTER|SINTERCARD|SUNION|SDIFF|SINTERSTORE|SUNIONSTORE|SDIFFSTORE|SPOP|SRANDMEMBER|ZCARD|ZCOUNT|ZRANGE|ZRANGEBYSCORE|ZREVRANGE|ZREVRANGEBYSCORE|ZRANGESTORE|ZPOPMIN|ZPOPMAX|BZPOPMIN|BZPOPMAX|ZMPOP|BZMPOP|ZREMRANGEBYRANK|ZREMRANGEBYSCORE|ZUNIONSTORE|ZINTERSTORE|ZDIFFSTORE|ZINTER|ZUNION|ZDIFF|ZINTERCARD|XLEN|XRANGE|XREVRANGE|XREAD|XREADGROUP|XACK|XDEL|XTRIM|XPENDING|XCLAIM|XAUTOCLAIM|XGROUP|XINFO|PFCOUNT|PFMERGE|BITCOUNT|BITPOS|GETBIT|BITOP|SUBSCRIBE|UNSUBSCRIBE|PSUBSCRIBE|PUNSUBSCRIBE|SSUBSCRIBE|SUNSUBSCRIBE|PUBSUB|SELECT|INFO|DBSIZE|TIME|ROLE|COMMAND|CLUSTER|MEMORY|SCRIPT|FUNCTION|WAIT|WATCH|UNWATCH|MULTI|EXEC|DISCARD|QUIT|RESET|READONLY|READWRITE|FLUSHDB|FLUSHALL|LASTSAVE|SLOWLOG|LATENCY)$/,
    shown: -1,
  },
];

/** Rules found per command name; bounded so that arbitrary names cannot grow it. */
const cache = new Map<string, number>();
const MAX_CACHED = 1024;

function shownArguments(name: string): number {
  const known = cache.get(name);
  if (known !== undefined) return known;
  let shown = 0;
  for (const rule of RULES) {
    if (rule.pattern.test(name)) {
      shown = rule.shown;
      break;
    }
  }
  if (cache.size < MAX_CACHED) cache.set(name, shown);
  return shown;
}

function text(argument: RedisArgument): string {
  return Buffer.isBuffer(argument) ? argument.toString('utf8') : String(argument);
}

/**
 * The arguments of a command as a trace may show them: keys and structural words, `'?'` for every value, secret
 * or unknown argument. With `keys: false` every argument is `'?'`. `name` is the upper-case command name.
 * Script calls (EVAL, EVALSHA, FCALL) show the script, numkeys and the keys; their arguments never.
 */
export function redactArgs(name: string, args: readonly RedisArgument[], keys = true): string[] {
  const out = new Array<string>(args.length);
  let shown = keys ? shownArguments(name) : 0;
  if (keys && shown === 2 && /^(EVAL|FCALL)/.test(name)) {
    const numkeys = Number(text(args[1] ?? ''));
    if (Number.isSafeInteger(numkeys) && numkeys > 0) shown = 2 + Math.min(numkeys, args.length);
  }
  for (let i = 0; i < args.length; i++) {
    out[i] = shown === -1 || i < shown ? text(args[i]) : REDACTED;
  }
  return out;
}

/** `db.query.text`: the command name and its redacted arguments, one space apart. */
export function queryText(name: string, redactedArgs: readonly string[]): string {
  return redactedArgs.length === 0 ? name : `${name} ${redactedArgs.join(' ')}`;
}
