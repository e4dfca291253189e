import { CommandNotAllowedError } from '../../lib/errors/redis-pool.errors';
import { useRedisServer } from '../harness';
import { useService } from './client-helpers';

/**
 * A command the client itself refuses cannot sit in the middle of MULTI ... EXEC: EXEC would answer fewer
 * results than were queued and shift them onto the wrong commands. The whole transaction is refused first.
 */
describe('transactions the client refuses', () => {
  const server = useRedisServer();
  const redis = useService(server, 2, { maxConnections: 1, maxLeases: 1 });

  it('an argument over 512 MB: RangeError before MULTI, nothing ran, the connection stays clean', async () => {
    const huge = Buffer.alloc(512 * 1024 * 1024 + 1);
    const error = await redis()
      .multi()
      .set('refusals:a', '1')
      .set('refusals:b', huge)
      .incr('refusals:n')
      .exec()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RangeError);
    expect(await server().cli('EXISTS', 'refusals:a', 'refusals:n')).toBe('0');
    expect(await redis().multi().set('refusals:c', 'x').get('refusals:c').exec()).toEqual([
      'OK',
      'x',
    ]);
  });

  it('a command refused on every connection (MONITOR): CommandNotAllowedError before MULTI, nothing ran', async () => {
    const error = await redis()
      .multi()
      .set('refusals:a', '1')
      .executeCommand(' monitor')
      .exec()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CommandNotAllowedError);
    expect(await server().cli('EXISTS', 'refusals:a')).toBe('0');
  });

  it('scanIterator on the service refuses extra arguments too', async () => {
    const call = redis().scanIterator as unknown as (...args: unknown[]) => AsyncGenerator<string>;
    await expect(call.call(redis(), {}, 'extra').next()).rejects.toThrow(TypeError);
  });
});
