import { existsSync } from 'node:fs';

import { canBind, runNodeChild, waitFor, waitUntilGone } from './process-checks';

/*
 * Each scenario runs startTestRedis in its own Node process (this package's sources compiled on load), since
 * what matters is what happens to the server when that process ends.
 */
const START = `
lib('testing').startTestRedis().then(
  (redis) => {
    // The server's private working directory, which must go away with it.
    const socket = require('node:net').connect(redis.port, '127.0.0.1', () => socket.write('CONFIG GET dir\\r\\n'));
    socket.setEncoding('utf8').once('data', (reply) => {
      socket.destroy();
      console.log(JSON.stringify({ pid: redis.pid, port: redis.port, dir: reply.split('\\r\\n')[4] }));
    });
  },
  (error) => console.log(JSON.stringify({ error: String(error) })),
);
`;

interface Started {
  pid: number;
  port: number;
  dir: string;
}

describe('startTestRedis when the process that started it ends first', () => {
  it('does not keep a process alive whose teardown forgot stop(), and kills the server as it exits', async () => {
    const child = runNodeChild(START);
    const { pid, port, dir } = (await child.firstMessage()) as Started;
    expect(pid).toBeGreaterThan(0);
    expect(dir).toMatch(/nestjs-redis-pool-test-/);
    // Nothing else is pending in the child: it exits by itself, and its exit hook kills the server.
    expect(await child.exited).toBe(0);
    expect(await waitUntilGone(pid)).toBe(true);
    // A SIGKILLed process's sockets are closed by the kernel a moment after it is reaped.
    expect(await waitFor(() => canBind(port))).toBe(true);
    expect(existsSync(dir)).toBe(false);
  });

  it('kills the server when that process is SIGKILLed (no exit hook runs then)', async () => {
    const child = runNodeChild(`${START}\nsetInterval(() => undefined, 1000);`);
    const { pid, port, dir } = (await child.firstMessage()) as Started;
    expect(existsSync(dir)).toBe(true);
    process.kill(child.pid, 'SIGKILL');
    expect(await child.exited).toBe('SIGKILL');
    expect(await waitUntilGone(pid)).toBe(true);
    // A SIGKILLed process's sockets are closed by the kernel a moment after it is reaped.
    expect(await waitFor(() => canBind(port))).toBe(true);
    // The watchdog removes it right after the kill.
    expect(await waitFor(() => !existsSync(dir))).toBe(true);
  });

  it('kills the server and removes its directory on a normal exit even without a watchdog', async () => {
    // No Node binary to run the watchdog with: the exit hook alone must do it.
    const child = runNodeChild(`process.execPath = '/nonexistent/node';\n${START}`);
    const { pid, port, dir } = (await child.firstMessage()) as Started;
    // The child may already be gone by now (nothing keeps it alive), so only its name is checked here.
    expect(dir).toMatch(/nestjs-redis-pool-test-/);
    expect(await child.exited).toBe(0);
    expect(existsSync(dir)).toBe(false);
    expect(await waitUntilGone(pid)).toBe(true);
    expect(await waitFor(() => canBind(port))).toBe(true);
  });

  it('rejects with a TestRedisError naming PATH when redis-server is not on PATH', async () => {
    // PATH is changed inside the child: a jest test's process.env is not the one child_process reads.
    const child = runNodeChild(`
process.env.PATH = '/nonexistent';
lib('testing').startTestRedis().then(
  () => console.log(JSON.stringify({ started: true })),
  (error) => console.log(JSON.stringify({
    isTestRedisError: error instanceof lib('testing').TestRedisError,
    reason: error.reason,
    message: error.message,
  })),
);
`);
    expect(await child.firstMessage()).toEqual({
      isTestRedisError: true,
      reason: 'not-found',
      message: expect.stringMatching(
        /^startTestRedis: redis-server is not on PATH\. Install Redis \(Debian\/Ubuntu: `sudo apt-get install -y redis-server`, macOS: `brew install redis`\)/,
      ),
    });
    expect(await child.exited).toBe(0);
  });
});
