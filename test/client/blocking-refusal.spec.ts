import { CommandNotAllowedError } from '../../lib/errors/redis-pool.errors';
import type { RedisArgument } from '../../lib/protocol/resp.types';
import { useRedisServer } from '../harness';
import { useService } from './client-helpers';

describe('blocking commands refused on the shared path name the helper to use', () => {
  const server = useRedisServer();
  const redis = useService(server, 2);

  it.each([
    ['BLPOP', ['q', 0], 'redis.blpop()'],
    ['BRPOP', ['q', 1], 'redis.brpop()'],
    ['BLMOVE', ['a', 'b', 'LEFT', 'RIGHT', 0], 'redis.blmove()'],
    ['BZPOPMIN', ['z', 0], 'redis.bzpopmin()'],
    ['BZPOPMAX', ['z', 0], 'redis.bzpopmax()'],
    ['XREAD', ['BLOCK', 0, 'STREAMS', 's', '$'], 'redis.xread(..., { block })'],
    [
      'XREADGROUP',
      ['GROUP', 'g', 'c', 'BLOCK', 0, 'STREAMS', 's', '>'],
      'redis.xreadgroup(..., { block })',
    ],
  ] as Array<[string, RedisArgument[], string]>)('%s', async (command, args, helper) => {
    const refused = redis().executeCommand(command, ...args);
    await expect(refused).rejects.toBeInstanceOf(CommandNotAllowedError);
    await expect(refused).rejects.toThrow(
      `${command} blocks its connection, so it cannot run on the shared multiplexed path; use ${helper} ` +
        `(RedisService, on a lease of its own), redis.withConnection((c) => c.executeCommand('${command}', ...)) ` +
        'or pool.withConnection()',
    );
  });

  it.each([['BRPOPLPUSH'], ['BLMPOP'], ['WAIT']])(
    '%s, which has no helper, names withConnection()',
    async (command) => {
      const args: RedisArgument[] = command === 'WAIT' ? [0, 0] : ['a', 'b', 0];
      await expect(redis().executeCommand(command, ...args)).rejects.toThrow(
        `${command} blocks its connection, so it cannot run on the shared multiplexed path; use ` +
          `redis.withConnection((c) => c.executeCommand('${command}', ...)) or pool.withConnection()`,
      );
    },
  );

  it('the helper it names works', async () => {
    await redis().rpush('refusal:q', 'job');
    await expect(redis().blpop('refusal:q', 1)).resolves.toEqual({
      key: 'refusal:q',
      element: 'job',
    });
  });
});
