import { Test } from '@nestjs/testing';
import { ConnectionError } from '../../lib/errors/redis-pool.errors';
import { RedisPoolModule } from '../../lib/nest/redis-pool.module';
import { useRedisServer } from '../harness';
import { LogCapture, bootApp, closeApps, waitFor } from './nest-helpers';

const PASSWORD = 'Rq8-right-pw-Tz3';

describe('RedisPoolModule with credentials the server refuses', () => {
  const server = useRedisServer({ password: PASSWORD });
  afterEach(closeApps);
  const url = (password: string) => `redis://:${password}@127.0.0.1:${server().port}`;

  it('logs one error that says the credentials were rejected, not that Redis cannot be reached', async () => {
    const { logs } = await bootApp({
      imports: [RedisPoolModule.forRoot({ url: url('Wrong-pw-Hx5'), minIdle: 1 })],
    });
    await waitFor(() => logs.lines('error').length > 0, 3000, 'the error line');
    const port = server().port;
    expect(logs.lines('error')).toEqual([
      `Redis pool "default" was refused by redis://:****@127.0.0.1:${port}: WRONGPASS invalid username-password ` +
        `pair or user is disabled. (AUTH while connecting to 127.0.0.1:${port}): credentials rejected (check the ` +
        "password); not retrying. The application runs without it (startup: 'lazy'); commands fail until the " +
        'configuration is fixed (each new command tries once more).',
    ]);
    expect(logs.text()).not.toMatch(/cannot reach|reconnected/);
    expect(logs.text()).not.toContain('Wrong-pw');
  });

  it("with startup: 'wait', fails the boot at once and says to fix the configuration", async () => {
    const logs = new LogCapture();
    const started = Date.now();
    const compiling = Test.createTestingModule({
      imports: [
        RedisPoolModule.forRoot({
          url: url('Wrong-pw-Hx5'),
          startup: 'wait',
          startupTimeoutMs: 8000,
        }),
      ],
    })
      .setLogger(logs)
      .compile();
    const error = (await compiling.catch((e: unknown) => e)) as Error;
    expect(error).toBeInstanceOf(ConnectionError);
    expect(Date.now() - started).toBeLessThan(4000);
    expect(error.message).toMatch(
      /^Redis pool "default" is not ready: redis:\/\/:\*\*\*\*@127\.0\.0\.1:\d+ refused the credentials \(startup: 'wait'\)\. Last error: WRONGPASS .*credentials rejected \(check the password\); not retrying\. Fix the configuration, or use startup: 'lazy' to boot without it\.$/,
    );
    expect(logs.text()).not.toMatch(/cannot reach/);
  });

  it('logs "connected" the first time, with the right password', async () => {
    const { logs } = await bootApp({ imports: [RedisPoolModule.forRoot({ url: url(PASSWORD) })] });
    await waitFor(() => logs.lines('log').length > 0, 3000, 'the boot log');
    expect(logs.lines('log')[0]).toMatch(/^Redis pool "default" connected to /);
    expect(logs.text()).not.toContain('reconnected');
  });
});
