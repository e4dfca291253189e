import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { useRedisServer } from '../harness';
import { runChild, type ChildRun } from './child/run-child';

/*
 * A pool nobody closes must not keep its process alive (a jest run that forgot app.close() used to wait for the
 * idle reaper, about 60 s), while a command still outstanding, or a subscription, must. Each case runs a real
 * child process against a real server and watches it exit on its own.
 */

/**
 * Longest time from the child's last line to its exit. Idle connections are reaped only after 60 s, so any hold
 * shows as a kill at `KILL_AFTER_MS`; this bound only has to allow for a loaded machine.
 */
const EXIT_WITHIN_MS = 5000;
const KILL_AFTER_MS = 25_000;

function expectExitedSoonAfter(run: ChildRun, line: string): void {
  expect({ stderr: run.stderr, code: run.code, signal: run.signal }).toEqual({
    stderr: '',
    code: 0,
    signal: null,
  });
  const printed = run.printedAt.get(line);
  expect(printed).toBeDefined();
  expect(run.exitedAt - (printed as number)).toBeLessThan(EXIT_WITHIN_MS);
}

const header = `
const { ConnectionPool } = require('./lib/pool/connection-pool.ts');
const { RedisService } = require('./lib/client/redis.service.ts');
const options = JSON.parse(process.env.POOL_OPTIONS);
if (process.env.CA_FILE) options.tls = { ca: require('node:fs').readFileSync(process.env.CA_FILE) };
const pool = new ConnectionPool(options);
const redis = new RedisService(pool);
`;

describe('a pool nobody closes lets its process exit', () => {
  const server = useRedisServer({ tls: true });
  const env = (options: Record<string, unknown>) => ({
    POOL_OPTIONS: JSON.stringify({ host: '127.0.0.1', port: server().port, ...options }),
  });

  it.each([
    ['a pool that ran one command', {}],
    ['a pool with minIdle: 2', { minIdle: 2 }],
    ['a pool in exclusive dispatch', { dispatch: 'exclusive' }],
  ])('%s exits on its own, well before idle reaping', async (_name, options) => {
    const run = await runChild(
      `${header}
      redis.set('exit:k', 'v').then(() => redis.get('exit:k')).then((v) => console.log('got ' + v));`,
      { env: env(options), killAfterMs: KILL_AFTER_MS },
    );
    expect(run.stdout).toBe('got v\n');
    expectExitedSoonAfter(run, 'got v');
  });

  it('a pool with minIdle whose server is gone exits too (reconnecting only to refill minIdle holds nothing)', async () => {
    const run = await runChild(
      `${header}
      pool.executeCommand('PING').catch((error) => console.log('failed ' + error.name));`,
      {
        env: { POOL_OPTIONS: JSON.stringify({ host: '127.0.0.1', port: 1, minIdle: 2 }) },
        killAfterMs: KILL_AFTER_MS,
      },
    );
    expect(run.stdout).toBe('failed ConnectionError\n');
    expectExitedSoonAfter(run, 'failed ConnectionError');
  });

  it('a TLS pool exits on its own too', async () => {
    const caFile = join(server().dir, 'ca-for-child.pem');
    writeFileSync(caFile, server().certs!.ca);
    const run = await runChild(`${header} redis.ping().then((p) => console.log(p));`, {
      env: { ...env({ port: server().tlsPort }), CA_FILE: caFile },
      killAfterMs: KILL_AFTER_MS,
    });
    expect(run.stdout).toBe('PONG\n');
    expectExitedSoonAfter(run, 'PONG');
  });

  it('a Nest app that was never closed exits on its own', async () => {
    const run = await runChild(
      `require('reflect-metadata');
      const { NestFactory } = require('@nestjs/core');
      const { Module } = require('@nestjs/common');
      const { RedisPoolModule } = require('./lib/nest/redis-pool.module.ts');
      const { RedisService } = require('./lib/client/redis.service.ts');
      class AppModule {}
      Module({ imports: [RedisPoolModule.forRoot({ url: process.env.REDIS_URL, minIdle: 1 })] })(AppModule);
      (async () => {
        const app = await NestFactory.createApplicationContext(AppModule, { logger: false });
        console.log('incr ' + (await app.get(RedisService).incr('exit:nest')));
      })();`,
      { env: { REDIS_URL: server().url }, killAfterMs: KILL_AFTER_MS },
    );
    expect(run.stdout).toMatch(/^incr \d+\n$/);
    expectExitedSoonAfter(run, run.stdout.trim());
  });
});

describe('outstanding work keeps the process alive', () => {
  const server = useRedisServer();
  const env = () => ({
    POOL_OPTIONS: JSON.stringify({ host: '127.0.0.1', port: server().port }),
  });

  it('a blocking command waits for its reply', async () => {
    const run = await runChild(
      `${header}
      redis.set('exit:k', 'v').then(() => {
        console.log('blocking');
        return redis.blpop('exit:empty-list', 1);
      }).then((r) => console.log('blpop ' + r));`,
      { env: env(), killAfterMs: KILL_AFTER_MS },
    );
    expect(run.stdout).toBe('blocking\nblpop null\n');
    expect(run.printedAt.get('blpop null')! - run.printedAt.get('blocking')!).toBeGreaterThan(800);
    expectExitedSoonAfter(run, 'blpop null');
  });

  it('a shared-path command waits for its reply', async () => {
    const run = await runChild(
      `${header}
      redis.ping().then(() => {
        console.log('sleeping');
        return pool.executeCommand('DEBUG', 'SLEEP', '0.6');
      }).then((r) => console.log('slept ' + r));`,
      { env: env(), killAfterMs: KILL_AFTER_MS },
    );
    expect(run.stdout).toBe('sleeping\nslept OK\n');
    expect(run.printedAt.get('slept OK')! - run.printedAt.get('sleeping')!).toBeGreaterThan(400);
    expectExitedSoonAfter(run, 'slept OK');
  });

  it('a subscription waits for messages, and lets go once unsubscribed', async () => {
    const run = await runChild(
      `${header}
      let subscription;
      redis.subscribe('exit:news', (message) => {
        console.log('message ' + message);
        subscription.unsubscribe().then(() => console.log('unsubscribed'));
      }).then((s) => {
        subscription = s;
        console.log('subscribed');
      });`,
      {
        env: env(),
        killAfterMs: KILL_AFTER_MS,
        onLine: (line) => {
          if (line === 'subscribed') {
            // Long enough that a process not held by its subscription would have exited.
            setTimeout(() => void server().cli('PUBLISH', 'exit:news', 'hello'), 1500);
          }
        },
      },
    );
    expect(run.stdout).toBe('subscribed\nmessage hello\nunsubscribed\n');
    expect(run.printedAt.get('message hello')! - run.printedAt.get('subscribed')!).toBeGreaterThan(
      1000,
    );
    expectExitedSoonAfter(run, 'unsubscribed');
  });
});
