import { CommandKeyTable } from '../../lib/cluster/command-keys';
import { ClusterError, ResponseError } from '../../lib/errors/redis-pool.errors';
import { ConnectionPool } from '../../lib/pool/connection-pool';
import type { RedisArgument, RedisReply } from '../../lib/protocol/resp.types';
import { useRedisServer } from '../harness';

/** A lone cluster-enabled server answers COMMAND GETKEYS like any node of a cluster would. */
const CLUSTER_CONFIG = ['cluster-enabled yes', 'cluster-config-file nodes.conf'];

/** [command as a caller names it, its arguments, the keys COMMAND GETKEYS finds]. */
type Case = [string, RedisArgument[], string[]];

const SHA = 'e0e1f9fabfc9d4800c877a703b823ac0578ff8db';

/** One call or more for every kind of key spec Redis 7.0 uses, and commands without keys. */
const CORPUS: Case[] = [
  // begin_search index, find_keys range with lastkey 0: one key at a fixed place.
  ['GET', ['k'], ['k']],
  ['get', ['k'], ['k']],
  ['Get', ['k'], ['k']],
  ['SET', ['k', 'v', 'EX', 10, 'NX', 'GET'], ['k']],
  ['SET', ['EX', 'v'], ['EX']],
  ['XADD', ['s', 'MAXLEN', '~', 10, '*', 'f', 'v'], ['s']],
  // Two fixed specs.
  ['RENAME', ['a', 'b'], ['a', 'b']],
  ['COPY', ['a', 'b', 'DB', 0, 'REPLACE'], ['a', 'b']],
  ['LMOVE', ['a', 'b', 'LEFT', 'RIGHT'], ['a', 'b']],
  ['BLMOVE', ['a', 'b', 'LEFT', 'RIGHT', 0], ['a', 'b']],
  ['SMOVE', ['a', 'b', 'member'], ['a', 'b']],
  ['RPOPLPUSH', ['a', 'b'], ['a', 'b']],
  // Ranges to the end, with steps and from the end.
  ['MSET', ['a', '1', 'b', '2', 'c', '3'], ['a', 'b', 'c']],
  ['MSETNX', ['a', '1', 'b', '2'], ['a', 'b']],
  ['MGET', ['a', 'b', 'c'], ['a', 'b', 'c']],
  ['DEL', ['a', 'b', 'c', 'd', 'e'], ['a', 'b', 'c', 'd', 'e']],
  ['EXISTS', ['a', 'a'], ['a', 'a']],
  ['BRPOP', ['a', 'b', 0], ['a', 'b']],
  ['BZPOPMIN', ['a', 'b', 'c', 1.5], ['a', 'b', 'c']],
  ['BITOP', ['AND', 'd', 'a', 'b', 'c'], ['d', 'a', 'b', 'c']],
  ['PFMERGE', ['d', 'a', 'b'], ['d', 'a', 'b']],
  ['PFCOUNT', ['a', 'b'], ['a', 'b']],
  ['MGET', [Buffer.from('a'), 42, 7n, new Uint8Array([0x62])], ['a', '42', '7', 'b']],
  // keynum: numkeys right after the begin index, keys after it.
  ['EVAL', ['return 1', 0], []],
  ['EVAL', ['return 1', 1, 'a', 'x'], ['a']],
  ['EVAL', ['return 1', '3', 'a', 'b', 'c', 'x', 'y'], ['a', 'b', 'c']],
  ['EVAL', ['return 1', 5, 'a'], []],
  ['EVAL', ['return 1', -1, 'a'], []],
  ['EVAL_RO', ['return 1', 2, 'a', 'b'], ['a', 'b']],
  ['EVALSHA', [SHA, 0], []],
  ['EVALSHA', [SHA, 1, 'a'], ['a']],
  ['EVALSHA', [SHA, 3, 'a', 'b', 'c', 'x'], ['a', 'b', 'c']],
  ['FCALL', ['f', 0, 'x'], []],
  ['FCALL', ['f', 1, 'a', 'x'], ['a']],
  ['FCALL', ['f', 3n, 'a', 'b', 'c'], ['a', 'b', 'c']],
  ['ZUNIONSTORE', ['d', 2, 'a', 'b', 'WEIGHTS', 1, 2], ['d', 'a', 'b']],
  ['ZINTERSTORE', ['d', 3, 'a', 'b', 'c', 'AGGREGATE', 'MAX'], ['d', 'a', 'b', 'c']],
  ['ZUNIONSTORE', ['d', Buffer.from('2'), 'a', 'b'], ['d', 'a', 'b']],
  ['ZUNION', [2, 'a', 'b', 'WITHSCORES'], ['a', 'b']],
  ['ZDIFF', [2, 'a', 'b'], ['a', 'b']],
  ['ZDIFFSTORE', ['d', 2, 'a', 'b'], ['d', 'a', 'b']],
  ['SINTERCARD', [2, 'a', 'b', 'LIMIT', 1], ['a', 'b']],
  ['LMPOP', [2, 'a', 'b', 'LEFT', 'COUNT', 2], ['a', 'b']],
  ['BLMPOP', [0, 2, 'a', 'b', 'LEFT'], ['a', 'b']],
  ['ZMPOP', [2, 'a', 'b', 'MIN'], ['a', 'b']],
  ['BZMPOP', [0, 1, 'a', 'MAX'], ['a']],
  // begin_search keyword forwards, find_keys range limited to half of what follows.
  ['XREAD', ['COUNT', 2, 'BLOCK', 0, 'STREAMS', 's1', 's2', '0', '0'], ['s1', 's2']],
  ['XREAD', ['STREAMS', 's1', '$'], ['s1']],
  ['XREAD', ['count', 1, 'streams', 's1', 's2', 's3', '0', '0', '0'], ['s1', 's2', 's3']],
  ['XREAD', ['STREAMS', 'STREAMS', 'STREAMS', '0', '0'], ['STREAMS', 'STREAMS']],
  ['XREAD', [Buffer.from('StReAmS'), 's1', '0'], ['s1']],
  [
    'XREADGROUP',
    ['GROUP', 'g', 'c', 'COUNT', 1, 'BLOCK', 10, 'NOACK', 'STREAMS', 's1', 's2', '>', '>'],
    ['s1', 's2'],
  ],
  // begin_search keyword from a fixed place, optional.
  ['GEORADIUS', ['k', 0, 0, 1, 'km'], ['k']],
  ['GEORADIUS', ['k', 0, 0, 1, 'km', 'STORE', 's'], ['k', 's']],
  ['GEORADIUS', ['k', 0, 0, 1, 'km', 'STORE', 's', 'STOREDIST', 'd'], ['k', 's', 'd']],
  ['GEORADIUSBYMEMBER', ['k', 'm', 1, 'km', 'STOREDIST', 'd'], ['k', 'd']],
  ['GEOSEARCHSTORE', ['d', 's', 'FROMMEMBER', 'm', 'BYRADIUS', 1, 'km'], ['d', 's']],
  // begin_search keyword backwards from the end: MIGRATE's KEYS, absent here.
  ['MIGRATE', ['h', 6379, 'k', 0, 5000], ['k']],
  ['MIGRATE', ['h', 6379, 'k', 0, 5000, 'COPY', 'REPLACE'], ['k']],
  // SORT's known spec (its BY/GET/STORE specs are `unknown`).
  ['SORT', ['k', 'LIMIT', 0, 10, 'ALPHA'], ['k']],
  ['SORT_RO', ['k', 'BY', 'w_*'], ['k']],
  // Subcommands, named in the command or as the first argument.
  ['XGROUP CREATE', ['s', 'g', '$', 'MKSTREAM'], ['s']],
  ['XGROUP', ['CREATE', 's', 'g', '$'], ['s']],
  ['xgroup', ['create', 's', 'g', '$'], ['s']],
  ['xgroup create', ['s', 'g', '$'], ['s']],
  ['XGROUP', [Buffer.from('createconsumer'), 's', 'g', 'c'], ['s']],
  ['XINFO STREAM', ['s', 'FULL'], ['s']],
  ['XINFO', ['STREAM', 's'], ['s']],
  ['OBJECT ENCODING', ['k'], ['k']],
  ['OBJECT', ['encoding', 'k'], ['k']],
  ['MEMORY USAGE', ['k', 'SAMPLES', 5], ['k']],
  ['MEMORY', ['USAGE', 'k'], ['k']],
  // No keys (COMMAND GETKEYS answers with an error for most of these).
  ['SUBSCRIBE', ['a', 'b'], []],
  ['SSUBSCRIBE', ['a', 'b'], []],
  ['SPUBLISH', ['channel', 'message'], []],
  ['PUBLISH', ['channel', 'message'], []],
  ['PING', ['hello'], []],
  ['INFO', ['server'], []],
  ['DBSIZE', [], []],
  ['KEYS', ['*'], []],
  ['SCRIPT LOAD', ['return 1'], []],
  ['XGROUP', ['HELP'], []],
  ['XGROUP', [], []],
  ['NOSUCHCOMMAND', ['k'], []],
];

const asText = (arg: RedisArgument): string =>
  arg instanceof Uint8Array ? Buffer.from(arg).toString('utf8') : String(arg);

describe('CommandKeyTable', () => {
  const server = useRedisServer({ extraConfig: CLUSTER_CONFIG });
  const pools: ConnectionPool[] = [];
  const replies = new Map<2 | 3, RedisReply[]>();
  const tables = new Map<2 | 3, CommandKeyTable>();

  beforeAll(async () => {
    for (const protocol of [2, 3] as const) {
      const pool = new ConnectionPool({ host: server().host, port: server().port, protocol });
      pools.push(pool);
      const reply = await pool.executeCommand<RedisReply[]>('COMMAND');
      replies.set(protocol, reply);
      tables.set(protocol, CommandKeyTable.fromCommandReply(reply));
    }
  });
  afterAll(async () => {
    await Promise.all(pools.map((pool) => pool.disconnect()));
  });

  /** The keys COMMAND GETKEYS finds; `[]` where it answers with an error (no keys, bad arguments). */
  const serverKeys = async (command: string, args: readonly RedisArgument[]): Promise<string[]> => {
    const words = command.split(' ').filter(Boolean);
    try {
      return await pools[0].executeCommand<string[]>('COMMAND GETKEYS', ...words, ...args);
    } catch (error) {
      expect(error).toBeInstanceOf(ResponseError);
      return [];
    }
  };

  /** The raw entry of a command or subcommand (`'xgroup|create'`), in RESP2 shape. */
  const rawEntry = (name: string): RedisReply[] => {
    const [command, sub] = name.split('|');
    const entry = replies.get(2)!.find((e) => (e as RedisReply[])[0] === command) as RedisReply[];
    if (sub === undefined) return entry;
    return (entry[9] as RedisReply[][]).find((e) => e[0] === name)!;
  };

  it('reads both reply shapes: key specs as flat lists under RESP2, as maps under RESP3', () => {
    const spec2 = (rawEntry('get')[8] as RedisReply[])[0];
    const get3 = replies.get(3)!.find((e) => (e as RedisReply[])[0] === 'get') as RedisReply[];
    const spec3 = (get3[8] as RedisReply[])[0];
    expect(Array.isArray(spec2)).toBe(true);
    expect(Array.isArray(spec3)).toBe(false);
    expect(Object.getPrototypeOf(spec3)).toBeNull();
  });

  describe.each([2, 3] as const)('built from the COMMAND reply under RESP%i', (protocol) => {
    const table = () => tables.get(protocol)!;

    it.each(CORPUS)(
      '%s %j: keys() finds what COMMAND GETKEYS finds',
      async (command, args, expected) => {
        const keys = table().keys(command, args);
        expect(keys.map(asText)).toEqual(expected);
        expect(await serverKeys(command, args)).toEqual(expected);
        // The very arguments come back, not copies.
        keys.forEach((key) => expect(args).toContain(key));
        expect(table().firstKey(command, args)).toBe(keys[0]);
      },
    );

    it('gives every command and subcommand the tips and readonly flag of its own entry', () => {
      let checked = 0;
      for (const entry of replies.get(2)! as RedisReply[][]) {
        for (const item of [entry, ...((entry[9] as RedisReply[][] | undefined) ?? [])]) {
          const name = String(item[0]);
          const policy = (prefix: string) =>
            (item[7] as string[]).find((tip) => tip.startsWith(prefix))?.slice(prefix.length);
          const expectedTips: Record<string, string> = {};
          const request = policy('request_policy:');
          const response = policy('response_policy:');
          if (request !== undefined) expectedTips.requestPolicy = request;
          if (response !== undefined) expectedTips.responsePolicy = response;
          const readOnly = (item[2] as string[]).includes('readonly');
          const [command, sub] = name.split('|');
          const calls: Array<[string, RedisArgument[]]> =
            sub === undefined
              ? [[command.toUpperCase(), []]]
              : [
                  [`${command} ${sub}`.toUpperCase(), []],
                  [command, [sub]],
                  [command.toUpperCase(), [Buffer.from(sub.toUpperCase())]],
                ];
          for (const [name, args] of calls) {
            expect({ name, tips: table().tips(name, args) }).toEqual({ name, tips: expectedTips });
            expect({ name, readOnly: table().isReadOnly(name, args) }).toEqual({ name, readOnly });
            checked++;
          }
        }
      }
      expect(checked).toBeGreaterThan(300);
    });

    it('reads the cluster tips Redis 7.0 gives, for commands and subcommands', () => {
      const t = table();
      expect(t.tips('DBSIZE', [])).toEqual({
        requestPolicy: 'all_shards',
        responsePolicy: 'agg_sum',
      });
      expect(t.tips('flushall', [])).toEqual({
        requestPolicy: 'all_shards',
        responsePolicy: 'all_succeeded',
      });
      expect(t.tips('KEYS', ['*'])).toEqual({ requestPolicy: 'all_shards' });
      expect(t.tips('PING', [])).toEqual({
        requestPolicy: 'all_shards',
        responsePolicy: 'all_succeeded',
      });
      expect(t.tips('MGET', ['a'])).toEqual({ requestPolicy: 'multi_shard' });
      expect(t.tips('DEL', ['a'])).toEqual({
        requestPolicy: 'multi_shard',
        responsePolicy: 'agg_sum',
      });
      expect(t.tips('SCAN', [0])).toEqual({ requestPolicy: 'special' });
      // SCRIPT LOAD goes to every node, replicas too; FUNCTION LOAD only to the masters.
      const scriptLoad = { requestPolicy: 'all_nodes', responsePolicy: 'all_succeeded' };
      expect(t.tips('SCRIPT LOAD', ['return 1'])).toEqual(scriptLoad);
      expect(t.tips('SCRIPT', ['LOAD', 'return 1'])).toEqual(scriptLoad);
      expect(t.tips('script', ['load', 'return 1'])).toEqual(scriptLoad);
      expect(t.tips('FUNCTION LOAD', ['code'])).toEqual({
        requestPolicy: 'all_shards',
        responsePolicy: 'all_succeeded',
      });
      expect(t.tips('GET', ['k'])).toEqual({});
      expect(t.tips('SCRIPT', [])).toEqual({});
      expect(t.tips('NOSUCHCOMMAND', [])).toEqual({});
      expect(t.isReadOnly('GET', ['k'])).toBe(true);
      expect(t.isReadOnly('SET', ['k', 'v'])).toBe(false);
      expect(t.isReadOnly('XINFO', ['STREAM', 's'])).toBe(true);
      expect(t.isReadOnly('XGROUP CREATE', ['s', 'g', '$'])).toBe(false);
      expect(t.isReadOnly('NOSUCHCOMMAND', [])).toBe(false);
    });

    it('says where its keys may be incomplete: SORT, SORT_RO and MIGRATE', async () => {
      const t = table();
      // SORT's STORE spec is `unknown`: the server finds the destination, the key specs cannot.
      const sort: RedisArgument[] = ['k', 'BY', 'w_*', 'GET', '#', 'STORE', 'dst'];
      expect(t.keys('SORT', sort)).toEqual(['k']);
      expect(await serverKeys('SORT', sort)).toEqual(['k', 'dst']);
      // MIGRATE's KEYS spec is `incomplete`: the index spec still names the "" placeholder.
      const migrate: RedisArgument[] = ['h', 6379, '', 0, 5000, 'KEYS', 'a', 'b'];
      expect(t.keys('MIGRATE', migrate)).toEqual(['', 'a', 'b']);
      expect(await serverKeys('MIGRATE', migrate)).toEqual(['a', 'b']);
      for (const [command, args] of [
        ['SORT', sort],
        ['SORT_RO', ['k']],
        ['MIGRATE', migrate],
        ['NOSUCHCOMMAND', []],
      ] as Array<[string, RedisArgument[]]>) {
        expect({ command, complete: t.keysAreComplete(command, args) }).toEqual({
          command,
          complete: false,
        });
      }
      for (const [command, args] of CORPUS) {
        if (['SORT', 'SORT_RO', 'MIGRATE', 'NOSUCHCOMMAND'].includes(command)) continue;
        expect({ command, complete: t.keysAreComplete(command, args) }).toEqual({
          command,
          complete: true,
        });
      }
    });

    it('finds shard channels as keys only when asked to (includeNotKeys)', async () => {
      const channels = CommandKeyTable.fromCommandReply(replies.get(protocol)!, {
        includeNotKeys: true,
      });
      expect(channels.keys('SPUBLISH', ['ch', 'message'])).toEqual(['ch']);
      expect(channels.keys('SSUBSCRIBE', ['a', 'b'])).toEqual(['a', 'b']);
      expect(channels.keys('sunsubscribe', ['a', 'b', 'c'])).toEqual(['a', 'b', 'c']);
      expect(channels.firstKey('SPUBLISH', ['ch', 'message'])).toBe('ch');
      expect(channels.keys('SUBSCRIBE', ['a'])).toEqual([]);
      expect(channels.keys('GET', ['k'])).toEqual(['k']);
      // COMMAND GETKEYS does not count them as keys.
      expect(await serverKeys('SPUBLISH', ['ch', 'message'])).toEqual([]);
      expect(table().keys('SPUBLISH', ['ch', 'message'])).toEqual([]);
    });

    it('falls back to first key, last key and step without key specs, as before Redis 7', () => {
      // The same reply as a Redis 6 server would shape it: no tips, key specs or subcommands.
      const legacyReply = replies
        .get(protocol)!
        .map((entry) => (entry as RedisReply[]).slice(0, 7));
      const legacy = CommandKeyTable.fromCommandReply(legacyReply);
      let compared = 0;
      for (const [command, args, expected] of CORPUS) {
        const name = command.split(' ')[0].toLowerCase();
        const entry = rawEntry(name);
        if (entry === undefined || (entry[2] as string[]).includes('movablekeys')) {
          expect(legacy.keysAreComplete(command, args)).toBe(false);
          continue;
        }
        if (entry[9] !== undefined && (entry[9] as RedisReply[]).length > 0) continue;
        // 7.0 gives shard channels a first key of 1 too; a server before 7 has no shard channels at all.
        if (name === 'ssubscribe' || name === 'spublish') continue;
        expect({ command, keys: legacy.keys(command, args).map(asText) }).toEqual({
          command,
          keys: expected,
        });
        compared++;
      }
      expect(compared).toBeGreaterThan(25);
    });
  });

  it('builds identical tables from RESP2 and RESP3 replies', () => {
    for (const [command, args] of CORPUS) {
      expect(tables.get(3)!.keys(command, args)).toEqual(tables.get(2)!.keys(command, args));
    }
  });

  describe('on hand-made replies', () => {
    const range = (index: number, lastkey: number, keystep = 1, limit = 0) => ({
      flags: ['RW'],
      begin_search: { type: 'index', spec: { index } },
      find_keys: { type: 'range', spec: { lastkey, keystep, limit } },
    });

    it('reads a Redis 6 container by its first key (XGROUP CREATE, first key 2)', () => {
      const t = CommandKeyTable.fromCommandReply([
        ['xgroup', -2, ['write', 'denyoom'], 2, 2, 1, ['@write']],
        ['mset', -3, ['write'], 1, -1, 2],
        ['eval', -3, ['noscript', 'movablekeys'], 0, 0, 0],
      ]);
      expect(t.keys('XGROUP', ['CREATE', 's', 'g', '$'])).toEqual(['s']);
      expect(t.keys('XGROUP CREATE', ['s', 'g', '$'])).toEqual(['s']);
      expect(t.keys('MSET', ['a', 1, 'b', 2])).toEqual(['a', 'b']);
      expect(t.keys('EVAL', ['s', 1, 'a'])).toEqual([]);
      expect(t.keysAreComplete('EVAL', ['s', 1, 'a'])).toBe(false);
      expect(t.keysAreComplete('MSET', ['a', 1])).toBe(true);
      expect(t.tips('MSET', [])).toEqual({});
    });

    it('applies keystep, limit and negative lastkey as the key-spec reference describes', () => {
      const t = CommandKeyTable.fromCommandReply([
        ['pairs', -2, [], 0, 0, 0, [], [], [range(2, -2, 2)], []],
        ['thirds', -2, [], 0, 0, 0, [], [], [range(1, -1, 1, 3)], []],
        [
          'after',
          -2,
          [],
          0,
          0,
          0,
          [],
          [],
          [
            {
              flags: [],
              begin_search: { type: 'keyword', spec: { keyword: 'keys', startfrom: -1 } },
              find_keys: { type: 'keynum', spec: { keynumidx: 0, firstkey: 2, keystep: 2 } },
            },
          ],
          [],
        ],
      ]);
      // Every second argument from position 2 to the one before last.
      expect(t.keys('PAIRS', ['x', 'a', 1, 'b', 2, 'c', 'end'])).toEqual(['a', 'b', 'c']);
      // A third of the arguments after position 1.
      expect(t.keys('THIRDS', ['a', 'b', 1, 2, 3, 4])).toEqual(['a', 'b']);
      // The last KEYS (searching backwards), then numkeys, one argument skipped, keys two apart.
      const args = ['KEYS', 'x', 'KEYS', 2, '-', 'a', '-', 'b'];
      expect(t.keys('AFTER', args)).toEqual(['a', 'b']);
      expect(t.firstKey('AFTER', args)).toBe('a');
      expect(t.keys('AFTER', ['KEYS', 3, '-', 'a', '-', 'b'])).toEqual([]);
    });

    it('skips key specs of unknown kinds and entries it cannot read', () => {
      const t = CommandKeyTable.fromCommandReply([
        [
          'future',
          -2,
          [],
          0,
          0,
          0,
          [],
          [],
          [
            {
              flags: [],
              begin_search: { type: 'pattern', spec: {} },
              find_keys: { type: 'range', spec: { lastkey: 0, keystep: 1, limit: 0 } },
            },
            range(2, 0),
          ],
          [],
        ],
        'not an entry',
        [42],
        [],
      ]);
      expect(t.keys('FUTURE', ['a', 'b'])).toEqual(['b']);
      expect(t.keysAreComplete('FUTURE', [])).toBe(false);
      expect(() => CommandKeyTable.fromCommandReply('OK')).toThrow(ClusterError);
    });
  });
});
