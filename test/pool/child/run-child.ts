import { spawn } from 'node:child_process';
import { join } from 'node:path';

const REGISTER = join(__dirname, 'swc-register.cjs');
/** The repository root, for `require('./lib/...')` in child scripts. */
export const ROOT = join(__dirname, '../../..');

/** What a child process printed, and when it ended. */
export interface ChildRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** When each stdout line was printed (ms since the spawn), by its text. */
  printedAt: Map<string, number>;
  /** When the process exited (ms since the spawn). */
  exitedAt: number;
}

/**
 * Runs `script` (CommonJS, run from the repository root, able to `require('./lib/...ts')`) in a fresh `node`
 * process and waits for it to exit on its own; it is killed after `killAfterMs`. `onLine` sees each stdout line as
 * it comes, e.g. to act on "subscribed".
 */
export function runChild(
  script: string,
  options: {
    env?: Record<string, string>;
    killAfterMs?: number;
    onLine?: (line: string) => void;
  } = {},
): Promise<ChildRun> {
  const started = Date.now();
  const child = spawn(process.execPath, ['-r', REGISTER, '-e', script], {
    cwd: ROOT,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const printedAt = new Map<string, number>();
  let stdout = '';
  let stderr = '';
  let partial = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
    const lines = (partial + chunk).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      printedAt.set(line, Date.now() - started);
      options.onLine?.(line);
    }
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const killer = setTimeout(() => child.kill('SIGKILL'), options.killAfterMs ?? 30_000);
  return new Promise((resolve) => {
    child.on('close', (code, signal) => {
      clearTimeout(killer);
      resolve({ code, signal, stdout, stderr, printedAt, exitedAt: Date.now() - started });
    });
  });
}
