import { inspect } from 'node:util';
import { Test } from '@nestjs/testing';
import { ConfigurationError, ConnectionError } from '../../lib/errors/redis-pool.errors';
import { getRedisPoolOptionsToken } from '../../lib/nest/redis.tokens';
import { RedisPoolModule } from '../../lib/nest/redis-pool.module';
import { describeTarget } from '../../lib/nest/redis-target';
import { URL_SECRET_CASES, errorViews, leakedPieces, thrownBy } from '../pool/url-secret-cases';
import { LogCapture, bootApp, closeApps, waitFor } from './nest-helpers';

/** Compiles a module with `RedisPoolModule.forRoot(options)` that must fail, and returns its error and logs. */
async function failedBoot(
  options: Parameters<typeof RedisPoolModule.forRoot>[0],
): Promise<{ error: unknown; logs: LogCapture }> {
  const logs = new LogCapture();
  const error = await Test.createTestingModule({ imports: [RedisPoolModule.forRoot(options)] })
    .setLogger(logs)
    .compile()
    .then(
      () => new Error('compile() should have failed'),
      (reason: unknown) => reason,
    );
  return { error, logs };
}

/** Everything the options provider of a booted app could show of itself. */
function optionsViews(value: unknown): string {
  return [
    inspect(value),
    inspect(value, { customInspect: false, showHidden: true, depth: 10 }),
    JSON.stringify(value),
    inspect({ ...(value as object) }, { showHidden: true, depth: 10 }),
  ].join('\n');
}

describe('RedisPoolModule with a password in a URL (RELIABILITY 41)', () => {
  afterEach(closeApps);

  describe.each(URL_SECRET_CASES)('$form: $url', ({ url, password, parsesTo }) => {
    it('the target in log lines shows no piece of the password', () => {
      expect(leakedPieces(describeTarget({ url }), password)).toEqual([]);
      expect(leakedPieces(describeTarget({ url, db: 3, clientName: 'x' }), password)).toEqual([]);
    });

    if (parsesTo === undefined) {
      it('fails the boot with a ConfigurationError; neither it nor the logs show the password', async () => {
        const { error, logs } = await failedBoot({ url });
        expect(error).toBeInstanceOf(ConfigurationError);
        expect(leakedPieces(errorViews(error), password)).toEqual([]);
        expect(leakedPieces(logs.text(), password)).toEqual([]);
      });
    } else {
      it('boots lazily; its log lines and options provider show no piece of the password', async () => {
        const { app, logs } = await bootApp({
          imports: [RedisPoolModule.forRoot({ url, connectTimeoutMs: 500 })],
        });
        await waitFor(() => logs.lines('warn').length > 0, 5000, 'the "cannot reach" line');
        const value: unknown = app.get(getRedisPoolOptionsToken());
        expect(leakedPieces(logs.text(), password)).toEqual([]);
        expect(leakedPieces(optionsViews(value), password)).toEqual([]);
      });

      it("with startup: 'wait', fails the boot with an error and logs that show no piece of it", async () => {
        const { error, logs } = await failedBoot({
          url,
          startup: 'wait',
          startupTimeoutMs: 300,
          connectTimeoutMs: 200,
        });
        expect(error).toBeInstanceOf(ConnectionError);
        expect(leakedPieces(errorViews(error), password)).toEqual([]);
        expect(leakedPieces(logs.text(), password)).toEqual([]);
      });
    }
  });

  it('fails the boot of a factory that returns its URL string instead of { url } without printing it', async () => {
    const logs = new LogCapture();
    const url = 'redis://:Jx4/Tq9Rw@127.0.0.1:1';
    const error = await Test.createTestingModule({
      imports: [
        RedisPoolModule.forRootAsync({ useFactory: () => url as unknown as { url: string } }),
      ],
    })
      .setLogger(logs)
      .compile()
      .then(
        () => new Error('compile() should have failed'),
        (reason: unknown) => reason,
      );
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as Error).message).toMatch(/must be an object, not a string/);
    expect(leakedPieces(errorViews(error), 'Jx4/Tq9Rw')).toEqual([]);
    expect(leakedPieces(logs.text(), 'Jx4/Tq9Rw')).toEqual([]);
  });

  it('describes a target given a URL that is not a string without throwing', () => {
    const url = new URL('redis://:Jx4Tq9Rw@h') as unknown as string;
    expect(describeTarget({ url })).toBe('redis (invalid options)');
    expect(thrownBy(() => describeTarget({ url: 42 as unknown as string }))).toBeUndefined();
  });
});
