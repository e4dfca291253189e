import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import type { Socket } from 'node:net';

// Runs as its own small process holding the read end of a pipe from us. The pipe reaches EOF however this
// process ends (exit, crash, SIGKILL), and the watchdog then SIGKILLs the server and removes its directory.
// Plain JS for `node -e`.
const WATCHDOG_SCRIPT = `
const [pid, dir] = [Number(process.argv[1]), process.argv[2]];
const reap = () => {
  try { process.kill(pid, 'SIGKILL'); } catch {}
  try { require('fs').rmSync(dir, { recursive: true, force: true }); } catch {}
  process.exit(0);
};
process.stdin.on('error', reap);
process.stdin.on('close', reap);
process.stdin.on('end', reap);
process.stdin.resume();
`;

interface Guarded {
  child: ChildProcess;
  dir: string;
}

const guarded = new Set<Guarded>();
let exitHookInstalled = false;

function reapSynchronously(): void {
  for (const { child, dir } of guarded) {
    child.kill('SIGKILL');
    try {
      rmSync(dir, { recursive: true, force: true });
    } catch {
      // Exiting anyway; a leftover empty temp dir is not worth a throw from an exit hook.
    }
  }
}

/** The environment without NODE_OPTIONS: a test runner's `--inspect` or loaders have no place in the watchdog. */
function watchdogEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  return env;
}

function spawnWatchdog(pid: number, dir: string): ChildProcess | undefined {
  try {
    const watchdog = spawn(process.execPath, ['-e', WATCHDOG_SCRIPT, String(pid), dir], {
      // Its own session: a Ctrl-C aimed at the test run must not stop it before it has reaped.
      detached: true,
      stdio: ['pipe', 'ignore', 'ignore'],
      env: watchdogEnv(),
    });
    watchdog.on('error', () => undefined);
    watchdog.stdin?.on('error', () => undefined);
    // Neither may keep the test runner alive.
    watchdog.unref();
    (watchdog.stdin as Socket | null)?.unref();
    return watchdog;
  } catch {
    // No watchdog (odd execPath): the in-process exit hook still covers a normal exit.
    return undefined;
  }
}

/**
 * Makes sure `child` is SIGKILLed and `dir` removed if this process goes away first: synchronously on a normal
 * exit, and by a watchdog process when this one is killed or crashes (Node runs no exit hook then). Returns the
 * release function to call once the child has exited and `dir` is gone.
 */
export function killWithParent(child: ChildProcess, dir: string): () => void {
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on('exit', reapSynchronously);
  }
  const entry: Guarded = { child, dir };
  guarded.add(entry);
  const watchdog = child.pid === undefined ? undefined : spawnWatchdog(child.pid, dir);
  let released = false;
  return () => {
    if (released) return;
    released = true;
    guarded.delete(entry);
    // SIGKILL, not EOF: an ended pipe would make it kill a pid that may belong to someone else by now.
    watchdog?.kill('SIGKILL');
  };
}
