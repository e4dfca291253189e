import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { join } from 'node:path';

/** Whether `pid` is a live process (a zombie waiting for its reaper counts as gone). */
export function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return true;
  }
}

/** Polls `condition` until it holds; false when it still does not after `timeoutMs`. */
export async function waitFor(
  condition: () => boolean | Promise<boolean>,
  timeoutMs = 10_000,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return true;
}

/** Polls until `pid` is gone; false when it is still running after `timeoutMs`. */
export function waitUntilGone(pid: number, timeoutMs = 10_000): Promise<boolean> {
  return waitFor(() => !isRunning(pid), timeoutMs);
}

/** Whether something accepts TCP connections on 127.0.0.1:`port`. */
export function isListening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** Whether this process can bind 127.0.0.1:`port` (it is closed again at once). */
export function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

const LIB = join(__dirname, '..', '..', 'lib');

// Lets a plain `node -e` child require lib/*.ts: each file is compiled by swc as it is loaded.
const REGISTER_TS = `
const { transformSync } = require(${JSON.stringify(require.resolve('@swc/core'))});
const { readFileSync } = require('node:fs');
require.extensions['.ts'] = (module, filename) => {
  const { code } = transformSync(readFileSync(filename, 'utf8'), {
    filename,
    jsc: { parser: { syntax: 'typescript' }, target: 'es2022' },
    module: { type: 'commonjs' },
  });
  module._compile(code, filename);
};
const lib = (path) => require(${JSON.stringify(LIB)} + '/' + path);
`;

/** A child Node process running `script` (plain JS that may call `lib('testing')`), and its output so far. */
export interface NodeChild {
  /** stdout lines parsed as JSON, in order. */
  readonly messages: unknown[];
  readonly stderr: () => string;
  /** Resolves with the first stdout message. */
  firstMessage(): Promise<unknown>;
  /** Resolves with the exit code (or the signal name) once the child has exited. */
  exited: Promise<number | string>;
  pid: number;
}

/** Runs `script` in a fresh `node -e` whose `lib(path)` requires this package's TypeScript sources. */
export function runNodeChild(script: string): NodeChild {
  const child = spawn(process.execPath, ['-e', REGISTER_TS + script], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const messages: unknown[] = [];
  let stderr = '';
  let pending = '';
  const waiters: Array<(message: unknown) => void> = [];
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    pending += chunk;
    for (let nl = pending.indexOf('\n'); nl >= 0; nl = pending.indexOf('\n')) {
      const message: unknown = JSON.parse(pending.slice(0, nl));
      pending = pending.slice(nl + 1);
      messages.push(message);
      waiters.splice(0).forEach((resolve) => resolve(message));
    }
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<number | string>((resolve) =>
    child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')),
  );
  return {
    messages,
    stderr: () => stderr,
    firstMessage: () =>
      messages.length > 0
        ? Promise.resolve(messages[0])
        : Promise.race([
            new Promise<unknown>((resolve) => waiters.push(resolve)),
            exited.then((status) => {
              throw new Error(`child exited (${status}) before writing: ${stderr}`);
            }),
          ]),
    exited,
    pid: child.pid!,
  };
}
