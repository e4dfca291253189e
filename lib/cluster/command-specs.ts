import { ResponseError } from '../errors/redis-pool.errors';
import type { RedisMap, RedisReply } from '../protocol/resp.types';

/*
 * Reading the server's COMMAND reply into plans: Redis 7 key specs, or the first key, last key and step of
 * servers before it, and the routing tips. `CommandKeyTable` applies the plans to calls.
 */

/** A command's cluster routing hints, from the `request_policy:` and `response_policy:` tips of `COMMAND`. */
export interface CommandTips {
  /** Where to send the command without keys, e.g. `'all_shards'`, `'all_nodes'`, `'multi_shard'`, `'special'`. */
  readonly requestPolicy?: string;
  /** How to combine the replies of several nodes, e.g. `'agg_sum'`, `'all_succeeded'`, `'special'`. */
  readonly responsePolicy?: string;
}

/** The tips of a command that has none. */
export const NO_TIPS: CommandTips = Object.freeze({});
/** A decimal integer as Redis writes one. */
export const INTEGER = /^(?:0|-?[1-9][0-9]*)$/;

/** How a key spec begins its search (`begin_search` type) and finds its keys (`find_keys` type). */
export const BEGIN_INDEX = 0;
export const BEGIN_KEYWORD = 1;
export const FIND_RANGE = 0;
export const FIND_KEYNUM = 1;

/**
 * One key spec reduced to numbers, so walking it allocates nothing. Every spec has every field, whatever its
 * kinds, so the code reading them sees one shape.
 */
export interface KeySpec {
  readonly begin: typeof BEGIN_INDEX | typeof BEGIN_KEYWORD;
  /** `index`: the position of the first key (0 is the command name). */
  readonly index: number;
  /** `keyword`: the upper-cased keyword that precedes the keys. */
  readonly keyword: string;
  /** `keyword`: where the search starts; negative counts from the end and searches backwards. */
  readonly startFrom: number;
  readonly find: typeof FIND_RANGE | typeof FIND_KEYNUM;
  /** `range`: the last key relative to the begin position, or when negative relative to the end. */
  readonly lastKey: number;
  /** `range`: with a negative `lastKey`, a limit above 1 keeps the keys to 1/limit of the arguments left. */
  readonly limit: number;
  /** `keynum`: where the number of keys is, relative to the begin position. */
  readonly keyNumIndex: number;
  /** `keynum`: where the first key is, relative to the begin position. */
  readonly firstKey: number;
  /** Arguments from one key to the next, at least 1. */
  readonly keyStep: number;
}

/** Everything the table knows about one command or subcommand, computed once from its `COMMAND` entry. */
export interface CommandPlan {
  readonly specs: readonly KeySpec[];
  /** Position of the only key when the command has one at a fixed place (GET, SET), else -1: the fast path. */
  readonly fixedKey: number;
  /** False when a spec is `unknown` or flagged `incomplete`, or a pre-7 command has `movablekeys`. */
  readonly complete: boolean;
  readonly readOnly: boolean;
  readonly tips: CommandTips;
  /** Upper-cased subcommand names (plus spellings seen since) to their plans, for container commands. */
  readonly subcommands: Map<string, CommandPlan> | undefined;
}

/** One command's entry: [name, arity, flags, first key, last key, step, ACL categories, tips, key specs, subs]. */
export function commandPlan(entry: RedisReply, includeNotKeys: boolean): CommandPlan | undefined {
  if (!Array.isArray(entry) || entry.length < 6) return undefined;
  const flags = textList(entry[2]).map((flag) => flag.toLowerCase());
  const specs: KeySpec[] = [];
  let complete = true;
  const rawSpecs = entry[8];
  if (Array.isArray(rawSpecs) && rawSpecs.length > 0) {
    for (const raw of rawSpecs) {
      const specFlags = textList(field(raw, 'flags')).map((flag) => flag.toLowerCase());
      if (specFlags.includes('not_key') && !includeNotKeys) continue;
      const spec = keySpec(raw);
      if (spec === undefined || specFlags.includes('incomplete')) complete = false;
      if (spec !== undefined) specs.push(spec);
    }
  } else {
    const legacy = legacySpec(integer(entry[3]), integer(entry[4]), integer(entry[5]));
    if (legacy !== undefined) specs.push(legacy);
    if (flags.includes('movablekeys')) complete = false;
  }
  const only = specs.length === 1 ? specs[0] : undefined;
  return {
    specs,
    fixedKey:
      only?.begin === BEGIN_INDEX && only.find === FIND_RANGE && only.lastKey === 0
        ? only.index
        : -1,
    complete,
    readOnly: flags.includes('readonly'),
    tips: commandTips(textList(entry[7])),
    subcommands: subcommandPlans(entry[9], includeNotKeys),
  };
}

function subcommandPlans(
  raw: RedisReply | undefined,
  includeNotKeys: boolean,
): Map<string, CommandPlan> | undefined {
  if (!Array.isArray(raw) || raw.length === 0) return undefined;
  const plans = new Map<string, CommandPlan>();
  for (const entry of raw) {
    const name = text(Array.isArray(entry) ? entry[0] : undefined);
    const plan = commandPlan(entry, includeNotKeys);
    // Subcommands are named `container|sub`.
    if (name !== undefined && plan !== undefined) {
      plans.set(name.slice(name.indexOf('|') + 1).toUpperCase(), plan);
    }
  }
  return plans.size > 0 ? plans : undefined;
}

/** A key spec of kinds this table knows, or `undefined` (`unknown` or anything newer). */
function keySpec(raw: RedisReply): KeySpec | undefined {
  const beginSearch = field(raw, 'begin_search');
  const beginSpec = field(beginSearch, 'spec');
  const findKeys = field(raw, 'find_keys');
  const findSpec = field(findKeys, 'spec');
  const spec = {
    begin: BEGIN_INDEX as KeySpec['begin'],
    index: 0,
    keyword: '',
    startFrom: 0,
    find: FIND_RANGE as KeySpec['find'],
    lastKey: 0,
    limit: 0,
    keyNumIndex: 0,
    firstKey: 0,
    keyStep: 1,
  };
  switch (text(field(beginSearch, 'type'))) {
    case 'index':
      spec.index = integer(field(beginSpec, 'index'));
      if (!(spec.index >= 0)) return undefined;
      break;
    case 'keyword':
      spec.begin = BEGIN_KEYWORD;
      spec.keyword = text(field(beginSpec, 'keyword'))?.toUpperCase() ?? '';
      spec.startFrom = integer(field(beginSpec, 'startfrom'));
      if (spec.keyword === '' || !Number.isInteger(spec.startFrom)) return undefined;
      break;
    default:
      return undefined;
  }
  switch (text(field(findKeys, 'type'))) {
    case 'range':
      spec.lastKey = integer(field(findSpec, 'lastkey'));
      spec.keyStep = integer(field(findSpec, 'keystep'));
      spec.limit = integer(field(findSpec, 'limit'));
      if (!Number.isInteger(spec.lastKey) || !(spec.limit >= 0)) return undefined;
      break;
    case 'keynum':
      spec.find = FIND_KEYNUM;
      spec.keyNumIndex = integer(field(findSpec, 'keynumidx'));
      spec.firstKey = integer(field(findSpec, 'firstkey'));
      spec.keyStep = integer(field(findSpec, 'keystep'));
      if (!(spec.keyNumIndex >= 0) || !(spec.firstKey >= 0)) return undefined;
      break;
    default:
      return undefined;
  }
  return spec.keyStep >= 1 ? spec : undefined;
}

/** Keys from first key, last key (negative: from the end) and step, the scheme of servers before Redis 7. */
function legacySpec(firstKey: number, lastKey: number, keyStep: number): KeySpec | undefined {
  if (!(firstKey > 0) || !Number.isInteger(lastKey) || !(keyStep >= 1)) return undefined;
  return {
    begin: BEGIN_INDEX,
    index: firstKey,
    keyword: '',
    startFrom: 0,
    find: FIND_RANGE,
    lastKey: lastKey >= 0 ? lastKey - firstKey : lastKey,
    limit: 0,
    keyNumIndex: 0,
    firstKey: 0,
    keyStep,
  };
}

function commandTips(tips: readonly string[]): CommandTips {
  let requestPolicy: string | undefined;
  let responsePolicy: string | undefined;
  for (const tip of tips) {
    if (tip.startsWith('request_policy:')) requestPolicy = tip.slice('request_policy:'.length);
    else if (tip.startsWith('response_policy:'))
      responsePolicy = tip.slice('response_policy:'.length);
  }
  if (requestPolicy === undefined && responsePolicy === undefined) return NO_TIPS;
  const result: { requestPolicy?: string; responsePolicy?: string } = {};
  if (requestPolicy !== undefined) result.requestPolicy = requestPolicy;
  if (responsePolicy !== undefined) result.responsePolicy = responsePolicy;
  return Object.freeze(result);
}

/** A field of a map reply: a null-prototype object in RESP3, a flat `[name, value, ...]` list in RESP2. */
function field(map: RedisReply | undefined, name: string): RedisReply | undefined {
  if (Array.isArray(map)) {
    for (let i = 0; i + 1 < map.length; i += 2) if (text(map[i]) === name) return map[i + 1];
    return undefined;
  }
  if (
    typeof map !== 'object' ||
    map === null ||
    Buffer.isBuffer(map) ||
    map instanceof ResponseError
  ) {
    return undefined;
  }
  return (map as RedisMap)[name];
}

export function text(value: RedisReply | undefined): string | undefined {
  if (typeof value === 'string') return value;
  return Buffer.isBuffer(value) ? value.toString('utf8') : undefined;
}

function textList(value: RedisReply | undefined): string[] {
  if (!Array.isArray(value)) return [];
  const texts: string[] = [];
  for (const item of value) {
    const itemText = text(item);
    if (itemText !== undefined) texts.push(itemText);
  }
  return texts;
}

/** An integer field; NaN when absent or not an integer, which every check above refuses. */
function integer(value: RedisReply | undefined): number {
  if (typeof value === 'number') return Number.isInteger(value) ? value : NaN;
  if (typeof value === 'bigint') return Number(value);
  const digits = text(value);
  return digits !== undefined && INTEGER.test(digits) ? Number(digits) : NaN;
}
