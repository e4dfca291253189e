import { resolveClusterOptions } from '../../lib/cluster/cluster-options';
import { POOL_DEFAULTS } from '../../lib/pool/pool-defaults';
import { resolvePoolOptions } from '../../lib/pool/pool-options';

/** The cluster reads the pool's defaults from the one place they live, so the two cannot drift apart. */
describe('cluster options', () => {
  const nodes = [{ host: '127.0.0.1', port: 7000 }];

  it('takes its deadlines and backoff from the pool defaults when none are given', () => {
    const resolved = resolveClusterOptions({ nodes });
    const pool = resolvePoolOptions({});
    expect(resolved.commandTimeoutMs).toBe(pool.commandTimeoutMs);
    expect(resolved.queryTimeoutMs).toBe(pool.connection.connectTimeoutMs);
    expect(resolved.backoff).toEqual({
      baseDelayMs: pool.retry.baseDelayMs,
      maxDelayMs: pool.retry.maxDelayMs,
    });
    expect(resolved.commandTimeoutMs).toBe(POOL_DEFAULTS.commandTimeoutMs);
  });

  it('uses the node options given instead of the defaults', () => {
    const resolved = resolveClusterOptions({
      nodes,
      commandTimeoutMs: 1234,
      connectTimeoutMs: 567,
      retry: { baseDelayMs: 7, maxDelayMs: 70 },
    });
    expect(resolved).toMatchObject({
      commandTimeoutMs: 1234,
      queryTimeoutMs: 567,
      backoff: { baseDelayMs: 7, maxDelayMs: 70 },
    });
  });
});
