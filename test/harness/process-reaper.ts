import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import type { Socket } from 'node:net';

/** Something the reaper must clean up if this process dies without disposing it. */
export interface ReapTarget {
  /** A child process to SIGKILL. */
  pid?: number;
  /** A directory to remove recursively. */
  dir?: string;
}

type GuardianMessage = { op: 'add' | 'remove'; pid?: number; dir?: string };

// The watchdog runs outside this process: it learns about pids and dirs over its stdin and,
// when stdin reaches EOF (this process exited, crashed or was SIGKILLed), kills and removes
// whatever is still registered. Kept as plain JS so it runs with `node -e`, no build step.
const GUARDIAN_SCRIPT = `
const fs = require('fs');
const pids = new Set();
const dirs = new Set();
let pending = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => {
  pending += chunk;
  let nl;
  while ((nl = pending.indexOf('\\n')) >= 0) {
    const line = pending.slice(0, nl);
    pending = pending.slice(nl + 1);
    let msg;
    try { msg = JSON.parse(line); } catch { continue; }
    const set = msg.pid !== undefined ? pids : dirs;
    const key = msg.pid !== undefined ? msg.pid : msg.dir;
    if (msg.op === 'add') set.add(key); else set.delete(key);
  }
});
process.stdin.on('error', () => {});
process.stdin.on('close', () => {
  for (const pid of pids) { try { process.kill(pid, 'SIGKILL'); } catch {} }
  for (const dir of dirs) { try { fs.rmSync(dir, { recursive: true, force: true }); } catch {} }
  process.exit(0);
});
`;

const pids = new Set<number>();
const dirs = new Set<string>();
let guardian: ChildProcess | undefined;
let exitHookInstalled = false;

function reapSynchronously(): void {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Already gone: nothing left to reap.
    }
  }
  for (const dir of dirs) {
    try {
      rmSync(dir, { recursive: true, force: true });
    } catch {
      // Best effort while exiting; a leftover temp dir is not worth a crash here.
    }
  }
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // Covers plain Node scripts. Inside jest this never fires: each test file sees a copy of
  // `process` whose listeners the real process never calls, hence the external guardian.
  process.on('exit', reapSynchronously);
}

function ensureGuardian(): ChildProcess | undefined {
  if (guardian && guardian.exitCode === null && guardian.signalCode === null) return guardian;
  try {
    const child = spawn(process.execPath, ['-e', GUARDIAN_SCRIPT], {
      // Own session: a Ctrl-C aimed at the test run must not kill the guardian before it reaps.
      detached: true,
      stdio: ['pipe', 'ignore', 'ignore'],
    });
    child.on('error', () => {
      if (guardian === child) guardian = undefined;
    });
    child.stdin?.on('error', () => {
      // EPIPE if the guardian died; the in-process exit hook still covers us.
    });
    child.unref();
    // Only the guardian's pipe would otherwise keep the event loop (and jest) alive.
    (child.stdin as Socket | null)?.unref();
    guardian = child;
    for (const pid of pids) send({ op: 'add', pid });
    for (const dir of dirs) send({ op: 'add', dir });
    return child;
  } catch {
    return undefined;
  }
}

function send(message: GuardianMessage): void {
  const stdin = guardian?.stdin;
  if (stdin && !stdin.destroyed) stdin.write(`${JSON.stringify(message)}\n`);
}

function releaseGuardianIfIdle(): void {
  if (pids.size > 0 || dirs.size > 0 || !guardian) return;
  // Nothing registered: EOF makes the guardian exit with nothing to reap.
  guardian.stdin?.end();
  guardian = undefined;
}

/**
 * Registers a pid and/or directory to be killed/removed if this process goes away first.
 *
 * Returns the matching unregister function; call it once the target was cleaned up normally.
 */
export function reapOnExit(target: ReapTarget): () => void {
  installExitHook();
  const hasGuardian = ensureGuardian() !== undefined;
  if (target.pid !== undefined) {
    pids.add(target.pid);
    if (hasGuardian) send({ op: 'add', pid: target.pid });
  }
  if (target.dir !== undefined) {
    dirs.add(target.dir);
    if (hasGuardian) send({ op: 'add', dir: target.dir });
  }
  let released = false;
  return () => {
    if (released) return;
    released = true;
    if (target.pid !== undefined && pids.delete(target.pid))
      send({ op: 'remove', pid: target.pid });
    if (target.dir !== undefined && dirs.delete(target.dir))
      send({ op: 'remove', dir: target.dir });
    releaseGuardianIfIdle();
  };
}
