import { createHash } from 'node:crypto';
import { ResponseError } from '../../lib/errors/redis-pool.errors';
import { useRedisServer } from '../harness';
import { PROTOCOLS, key, rejectionOf, useService } from './client-helpers';

const INCR_TO = `
local current = redis.call('INCRBY', KEYS[1], ARGV[1])
return { current, ARGV[2] or 'no tag' }
`;

describe.each(PROTOCOLS)('RedisService.defineScript (RESP%i)', (protocol) => {
  const server = useRedisServer();
  const redis = useService(server, protocol);

  /** EVAL and EVALSHA calls the server has counted. */
  const calls = async (): Promise<{ eval: number; evalsha: number }> => {
    const stats = (await redis().info('commandstats'))['commandstats'] ?? {};
    const count = (name: string) =>
      Number(/calls=(\d+)/.exec(stats[`cmdstat_${name}`] ?? '')?.[1] ?? 0);
    return { eval: count('eval'), evalsha: count('evalsha') };
  };

  it('runs with EVALSHA, loading the script with EVAL once on NOSCRIPT', async () => {
    await redis().executeCommand('SCRIPT', 'FLUSH');
    const script = redis().defineScript(INCR_TO, { numberOfKeys: 1 });
    expect(script.sha1).toBe(createHash('sha1').update(INCR_TO).digest('hex'));
    expect(script.numberOfKeys).toBe(1);
    const k = key();
    const before = await calls();
    await expect(script([k], [5, 'first'])).resolves.toEqual([5, 'first']);
    await expect(script([k], [2])).resolves.toEqual([7, 'no tag']);
    const after = await calls();
    expect(after.eval - before.eval).toBe(1);
    expect(after.evalsha - before.evalsha).toBe(2);
    await expect(redis().executeCommand('SCRIPT', 'EXISTS', script.sha1)).resolves.toEqual([1]);
  });

  it('still works after SCRIPT FLUSH', async () => {
    const script = redis().defineScript(INCR_TO, { numberOfKeys: 1 });
    const k = key();
    await script([k], [1]);
    await expect(redis().executeCommand('SCRIPT', 'FLUSH')).resolves.toBe('OK');
    await expect(redis().executeCommand('SCRIPT', 'EXISTS', script.sha1)).resolves.toEqual([0]);
    await expect(script([k], [1])).resolves.toEqual([2, 'no tag']);
    await expect(redis().executeCommand('SCRIPT', 'EXISTS', script.sha1)).resolves.toEqual([1]);
  });

  it('checks numberOfKeys before sending; any count without it', async () => {
    const strict = redis().defineScript('return #KEYS', { numberOfKeys: 2 });
    await expect(strict([key()], [])).rejects.toThrow(TypeError);
    await expect(strict([key(), key()])).resolves.toBe(2);
    const loose = redis().defineScript('return #KEYS + #ARGV');
    await expect(loose()).resolves.toBe(0);
    await expect(loose([key(), key(), key()], ['a'])).resolves.toBe(4);
    expect(() => redis().defineScript('return 1', { numberOfKeys: -1 })).toThrow(TypeError);
    expect(() => redis().defineScript('')).toThrow(TypeError);
  });

  it('passes replies through: nil, integers, strings, nested tables, binary args', async () => {
    await expect(redis().defineScript('return nil')()).resolves.toBeNull();
    await expect(redis().defineScript("return {1, 'two', {3}}")()).resolves.toEqual([
      1,
      'two',
      [3],
    ]);
    const echo = redis().defineScript('return ARGV[1]');
    await expect(echo([], ['ünï ✓'])).resolves.toBe('ünï ✓');
    const length = redis().defineScript('return string.len(ARGV[1])');
    await expect(length([], [Buffer.from([0, 0xff, 0x0d, 0x0a])])).resolves.toBe(4);
  });

  it('script errors are ResponseErrors (WRONGTYPE inside the script, syntax errors)', async () => {
    const k = key();
    await redis().set(k, 'text');
    const push = redis().defineScript("return redis.call('LPUSH', KEYS[1], 'x')", {
      numberOfKeys: 1,
    });
    const wrongType = await rejectionOf(push([k]));
    expect(wrongType).toBeInstanceOf(ResponseError);
    expect(wrongType.message).toMatch(/WRONGTYPE/);
    const broken = await rejectionOf(redis().defineScript('return (')());
    expect(broken).toBeInstanceOf(ResponseError);
    expect((broken as ResponseError).code).toBe('ERR');
  });
});

describe.each(PROTOCOLS)(
  'RedisService.defineScript across a server restart (RESP%i)',
  (protocol) => {
    const server = useRedisServer();
    const redis = useService(server, protocol);

    it('reloads the script on the fresh server', async () => {
      const script = redis().defineScript("return redis.call('INCR', KEYS[1])", {
        numberOfKeys: 1,
      });
      const k = key();
      await expect(script([k])).resolves.toBe(1);
      await server().restart();
      let result: unknown;
      for (let attempt = 0; attempt < 50; attempt++) {
        result = await script([k]).catch((error: unknown) => error);
        if (!(result instanceof Error)) break;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      // `save ""`: the restarted server is empty, and has never seen the script.
      expect(result).toBe(1);
      await expect(redis().executeCommand('SCRIPT', 'EXISTS', script.sha1)).resolves.toEqual([1]);
    });
  },
);
