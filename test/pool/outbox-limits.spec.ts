import { ConnectionPool } from '../../lib/pool/connection-pool';
import { useRedisServer } from '../harness';
import {
  expectNothingOpen,
  expectOwnReply,
  uniqueName,
  watchUnhandledRejections,
} from './pool-checks';

/**
 * One turn's write is larger than any JavaScript string can be (V8 caps strings near 2^29 characters): the
 * outbox hands it to the socket in pieces, so no request is ever queued without its bytes going out.
 */
describe('outbox limits', () => {
  watchUnhandledRejections();
  const server = useRedisServer();
  let pool: ConnectionPool;
  let name: string;

  afterEach(async () => {
    await expectNothingOpen(pool, server(), name);
  });

  it('writes one turn of 600 M characters of text in pieces, every command answered in order', async () => {
    name = uniqueName('outbox');
    pool = new ConnectionPool({ url: server().url, clientName: name, commandTimeoutMs: 60_000 });
    await pool.executeCommand('SET', 'outbox:before', 'b');
    const chunk = 'x'.repeat(120_000_000);
    const replies = await Promise.all([
      ...Array.from({ length: 5 }, (_, i) => pool.executeCommand('SET', `outbox:${i}`, chunk)),
      pool.executeCommand('GET', 'outbox:before'),
      pool.executeCommand('STRLEN', 'outbox:4'),
    ]);
    expect(replies).toEqual(['OK', 'OK', 'OK', 'OK', 'OK', 'b', 120_000_000]);
    expect(
      await pool.executeCommand('DEL', 'outbox:0', 'outbox:1', 'outbox:2', 'outbox:3', 'outbox:4'),
    ).toBe(5);
    await expectOwnReply(pool);
  }, 60_000);
});
