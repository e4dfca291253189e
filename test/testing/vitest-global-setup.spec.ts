import { ConnectionPool } from '../../lib/pool/connection-pool';
import setup from './fixtures/vitest.global-setup';
import { canBind, isRunning } from './process-checks';

// Called as vitest calls a globalSetup module's default export: once before the run, its result after it.
describe('the README vitest globalSetup', () => {
  const saved = process.env.REDIS_URL;

  afterEach(() => {
    if (saved === undefined) delete process.env.REDIS_URL;
    else process.env.REDIS_URL = saved;
  });

  it('puts a running server into REDIS_URL and returns a teardown that stops it', async () => {
    delete process.env.REDIS_URL;
    const teardown = await setup();
    const url = process.env.REDIS_URL!;
    expect(url).toMatch(/^redis:\/\/127\.0\.0\.1:\d+$/);
    const pool = ConnectionPool.fromUrl(url, { maxConnections: 1 });
    const info = await pool.executeCommand<string>('INFO', 'server');
    await pool.disconnect();
    const pid = Number(/process_id:(\d+)/.exec(info)![1]);
    expect(isRunning(pid)).toBe(true);
    await teardown();
    expect(isRunning(pid)).toBe(false);
    expect(await canBind(Number(new URL(url).port))).toBe(true);
  });
});
