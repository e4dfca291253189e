import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { LOOPBACK_HOST, freeLoopbackPort } from './free-port';
import { probeRedisProcessId } from './redis-probe';
import { RedisProcess, type ProcessEnd } from './redis-process';
import { TestRedisError } from './test-redis.errors';
import { TEST_REDIS_DEFAULTS, type TestRedis, type TestRedisOptions } from './test-redis.options';

const PORT_ATTEMPTS = 3;
const PROBE_INTERVAL_MS = 25;
const PROBE_TIMEOUT_MS = 1_000;
const OUTPUT_LINES = 15;
const INSTALL_HINT =
  'Install Redis (Debian/Ubuntu: `sudo apt-get install -y redis-server`, macOS: `brew install redis`) ' +
  'or pass the path of the executable as { binary }.';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** The defaults first, then the caller's `args`, so a repeated option of theirs wins. */
function serverArgs(port: number, dir: string, options: TestRedisOptions): string[] {
  const args = ['--port', String(port), '--bind', LOOPBACK_HOST];
  args.push('--save', '', '--appendonly', 'no', '--daemonize', 'no', '--logfile', '', '--dir', dir);
  if (options.password !== undefined) args.push('--requirepass', options.password);
  return args.concat(options.args ?? []);
}

function urlOf(port: number, password: string | undefined): string {
  const auth = password === undefined ? '' : `:${encodeURIComponent(password)}@`;
  return `redis://${auth}${LOOPBACK_HOST}:${port}`;
}

function spawnFailure(binary: string, error: NodeJS.ErrnoException): TestRedisError {
  if (error.code === 'ENOENT') {
    const where = binary.includes('/') ? `${binary} does not exist` : `${binary} is not on PATH`;
    return new TestRedisError(`startTestRedis: ${where}. ${INSTALL_HINT}`, {
      reason: 'not-found',
      binary,
      cause: error,
    });
  }
  return new TestRedisError(
    `startTestRedis: cannot run ${binary} (${error.code ?? error.message}).`,
    {
      reason: 'spawn-failed',
      binary,
      cause: error,
    },
  );
}

function exitFailure(binary: string, end: ProcessEnd, output: string): TestRedisError {
  const how = end.signal === null ? `code ${end.code}` : `signal ${end.signal}`;
  return new TestRedisError(
    `startTestRedis: ${binary} exited (${how}) before it answered PING. Its last output:\n${output}`,
    { reason: 'exited', binary, output },
  );
}

/** Polls until our process answers PING, it ends, or the deadline passes. */
async function waitUntilReady(
  server: RedisProcess,
  port: number,
  options: TestRedisOptions,
  deadline: number,
): Promise<'ready' | 'ended' | 'timeout'> {
  for (;;) {
    if (server.exited) return 'ended';
    const left = deadline - Date.now();
    if (left <= 0) return 'timeout';
    const processId = await probeRedisProcessId(
      port,
      options.password,
      Math.min(left, PROBE_TIMEOUT_MS),
    );
    if (processId !== undefined && processId === server.pid) return 'ready';
    if (server.exited) return 'ended';
    await sleep(PROBE_INTERVAL_MS);
  }
}

/**
 * Starts a throwaway `redis-server` on a free loopback port, for an app's own tests: no persistence
 * (`--save '' --appendonly no`), bound to 127.0.0.1, resolved once it answers PING. Call `stop()` when done
 * (e.g. in jest's `globalTeardown`); if the calling process exits or is killed first, the server is killed too.
 *
 * ```ts
 * const redis = await startTestRedis();
 * process.env.REDIS_URL = redis.url;
 * // ...
 * await redis.stop();
 * ```
 *
 * @throws TestRedisError (rejects) when the binary is missing (`reason: 'not-found'`, with how to install it),
 *   cannot run, exits early or does not answer within `startTimeoutMs` (with its last output lines).
 */
export async function startTestRedis(options: TestRedisOptions = {}): Promise<TestRedis> {
  const binary = options.binary ?? TEST_REDIS_DEFAULTS.binary;
  const startTimeoutMs = options.startTimeoutMs ?? TEST_REDIS_DEFAULTS.startTimeoutMs;
  const stopTimeoutMs = options.stopTimeoutMs ?? TEST_REDIS_DEFAULTS.stopTimeoutMs;
  const deadline = Date.now() + startTimeoutMs;
  for (let attempt = 1; ; attempt += 1) {
    const port = await freeLoopbackPort();
    const dir = await mkdtemp(join(tmpdir(), 'nestjs-redis-pool-test-'));
    const server = new RedisProcess(binary, serverArgs(port, dir, options), dir);
    const state = await waitUntilReady(server, port, options, deadline);
    if (state === 'ready') {
      server.detachFromEventLoop();
      return {
        url: urlOf(port, options.password),
        host: LOOPBACK_HOST,
        port,
        pid: server.pid!,
        stop: () => server.stop(stopTimeoutMs),
      };
    }
    await server.kill();
    const end = await server.ended;
    if (end.spawnError) throw spawnFailure(binary, end.spawnError);
    const output = server.output.lastLines(OUTPUT_LINES);
    if (state === 'timeout') {
      throw new TestRedisError(
        `startTestRedis: ${binary} did not answer PING on port ${port} within ${startTimeoutMs} ms; ` +
          `it was killed. Its last output:\n${output}`,
        { reason: 'timeout', binary, output },
      );
    }
    // Another process took the port between picking and binding: try a new one.
    if (attempt < PORT_ATTEMPTS && /already in use/i.test(output)) continue;
    throw exitFailure(binary, end, output);
  }
}
