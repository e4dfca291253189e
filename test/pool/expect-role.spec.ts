import { ConfigurationError, ConnectionError } from '../../lib/errors/redis-pool.errors';
import { ConnectionPool } from '../../lib/pool/connection-pool';
import { useRedisServer } from '../harness';

describe('expectRole: ROLE checked in every handshake', () => {
  const primary = useRedisServer();
  const replica = useRedisServer();

  beforeAll(async () => {
    await replica().cli('REPLICAOF', '127.0.0.1', String(primary().port));
  });

  const open = (port: number, expectRole: 'master' | 'slave') =>
    new ConnectionPool({
      host: '127.0.0.1',
      port,
      expectRole,
      connectTimeoutMs: 1000,
      commandTimeoutMs: 1500,
      retry: { attempts: 0 },
    });

  it('a node of the expected role serves; one of another role is refused, and nothing is run on it', async () => {
    const good = open(primary().port, 'master');
    await good.executeCommand('SET', 'role:k', '1');
    await good.disconnect();
    const wrong = open(replica().port, 'master');
    const error = await wrong.executeCommand('GET', 'role:k').catch((e: unknown) => e);
    await wrong.disconnect();
    expect(error).toBeInstanceOf(ConnectionError);
    expect((error as Error).message).toMatch(/is a slave, not a master \(ROLE at connect\)/);
    const info = await replica().cli('INFO', 'commandstats');
    expect(info).not.toContain('cmdstat_get:');
    const onReplica = open(replica().port, 'slave');
    expect(await onReplica.executeCommand('PING')).toBe('PONG');
    await onReplica.disconnect();
  });

  it('a master demoted behind the pool: its next connection is refused', async () => {
    const pool = open(primary().port, 'master');
    await pool.executeCommand('PING');
    await primary().cli('CLIENT', 'KILL', 'TYPE', 'normal');
    await primary().cli('REPLICAOF', '127.0.0.1', String(replica().port));
    try {
      const error = await pool.executeCommand('GET', 'role:k').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ConnectionError);
    } finally {
      await primary().cli('REPLICAOF', 'NO', 'ONE');
      await pool.disconnect();
    }
  });

  it('refuses a bad value with ConfigurationError', () => {
    expect(() => new ConnectionPool({ expectRole: 'primary' as never })).toThrow(
      ConfigurationError,
    );
  });
});
