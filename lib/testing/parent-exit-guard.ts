import { spawn, type ChildProcess } from 'node:child_process';
import type { Socket } from 'node:net';

// Runs as its own small process holding the read end of a pipe from us. The pipe reaches EOF however this
// process ends (exit, crash, SIGKILL), and the watchdog then SIGKILLs the server. Plain JS for `node -e`.
const WATCHDOG_SCRIPT = `
const pid = Number(process.argv[1]);
const reap = () => { try { process.kill(pid, 'SIGKILL'); } catch {} process.exit(0); };
process.stdin.on('error', reap);
process.stdin.on('close', reap);
process.stdin.on('end', reap);
process.stdin.resume();
`;

const guarded = new Set<ChildProcess>();
let exitHookInstalled = false;

function killGuardedSynchronously(): void {
  for (const child of guarded) child.kill('SIGKILL');
}

/** The environment without NODE_OPTIONS: a test runner's `--inspect` or loaders have no place in the watchdog. */
function watchdogEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  return env;
}

function spawnWatchdog(pid: number): ChildProcess | undefined {
  try {
    const watchdog = spawn(process.execPath, ['-e', WATCHDOG_SCRIPT, String(pid)], {
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
 * Makes sure `child` is SIGKILLed if this process goes away first: synchronously on a normal exit, and by a
 * watchdog process when this one is killed or crashes (Node runs no exit hook then). Returns the release
 * function to call once the child has exited by itself or was stopped.
 */
export function killWithParent(child: ChildProcess): () => void {
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on('exit', killGuardedSynchronously);
  }
  guarded.add(child);
  const watchdog = child.pid === undefined ? undefined : spawnWatchdog(child.pid);
  let released = false;
  return () => {
    if (released) return;
    released = true;
    guarded.delete(child);
    // SIGKILL, not EOF: an ended pipe would make it kill a pid that may belong to someone else by now.
    watchdog?.kill('SIGKILL');
  };
}
