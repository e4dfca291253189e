import { ConfigurationError } from '../../lib/errors/redis-pool.errors';
import { SentinelPool } from '../../lib/sentinel/sentinel-pool';
import { useRedisSentinel } from '../harness';
import { runChild } from '../pool/child/run-child';

/** Longest time from the child's last line to its exit on a loaded machine (a hold shows as the kill at 25 s). */
const EXIT_WITHIN_MS = 5000;

describe('SentinelPool options and process lifetime', () => {
  const topology = useRedisSentinel();

  it('a sentinel pool nobody closes (watcher subscribed, replica pools open) lets its process exit', async () => {
    const run = await runChild(
      `
      const { SentinelPool } = require('./lib/sentinel/sentinel-pool.ts');
      const pool = new SentinelPool(JSON.parse(process.env.SENTINEL_OPTIONS));
      pool.executeCommand('SET', 'exit:k', 'v')
        // The GET may read a replica that has not got the SET yet (asynchronous replication): only the answer counts.
        .then(() => pool.executeCommand('GET', 'exit:k'))
        .then(() => console.log('answered'));`,
      {
        env: {
          SENTINEL_OPTIONS: JSON.stringify({
            sentinels: topology().sentinelAddresses(),
            masterName: topology().masterName,
            readFrom: 'preferReplica',
            recheckIntervalMs: 500,
          }),
        },
        killAfterMs: 25_000,
      },
    );
    expect({ stdout: run.stdout, stderr: run.stderr, code: run.code }).toEqual({
      stdout: 'answered\n',
      stderr: '',
      code: 0,
    });
    expect(run.exitedAt - run.printedAt.get('answered')!).toBeLessThan(EXIT_WITHIN_MS);
  }, 40_000);

  it('an unknown or mistyped option is a ConfigurationError that names the pool and the likely option', () => {
    const base = { sentinels: topology().sentinelAddresses(), masterName: topology().masterName };
    const typo = () => new SentinelPool({ ...base, name: 'orders', readFom: 'replica' } as never);
    expect(typo).toThrow(ConfigurationError);
    expect(typo).toThrow(/Redis pool "orders".*readFom.*did you mean `readFrom`/);
    const badNode = () => new SentinelPool({ ...base, maxConnections: '5' } as never);
    expect(badNode).toThrow(/maxConnections: "5" \(string\)/);
    expect(() => new SentinelPool({ ...base, readFrom: 'slave' } as never)).toThrow(
      /readFrom must be 'master', 'replica' or 'preferReplica'/,
    );
  });
});
