import { spawn, type ChildProcess } from 'node:child_process';
import { rm } from 'node:fs/promises';
import type { Socket } from 'node:net';

import { OutputTail } from './output-tail';
import { killWithParent } from './parent-exit-guard';

/** How a server process ended. */
export interface ProcessEnd {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Set when the process never ran (`ENOENT`, `EACCES`, ...). */
  spawnError?: NodeJS.ErrnoException;
}

/**
 * One spawned redis-server working in its own directory `dir` (so a SAVE or `--appendonly yes` never writes
 * into the caller's project): its output tail, its end, and a stop that ends exactly this process and removes
 * `dir`. The process is SIGKILLed if this one exits first (see {@link killWithParent}).
 */
export class RedisProcess {
  readonly output = new OutputTail();
  /** Settles once the process has ended and its pipes are drained (so `output` holds its last words). */
  readonly ended: Promise<ProcessEnd>;

  readonly #child: ChildProcess;
  /** Settles once the process has ended and `dir` is removed. */
  readonly #cleanedUp: Promise<void>;
  #end: ProcessEnd | undefined;
  #stopping: Promise<void> | undefined;

  constructor(binary: string, args: readonly string[], dir: string) {
    this.#child = spawn(binary, args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    const child = this.#child;
    const append = (chunk: Buffer): void => this.output.append(chunk);
    child.stdout?.on('data', append);
    child.stderr?.on('data', append);
    const releaseGuard = child.pid === undefined ? undefined : killWithParent(child, dir);
    this.ended = new Promise<ProcessEnd>((resolve) => {
      child.once('close', (code: number | null, signal: NodeJS.Signals | null) => {
        this.#end ??= { code, signal };
        resolve(this.#end);
      });
      // A failed spawn emits 'error' and never 'close'.
      child.once('error', (error: NodeJS.ErrnoException) => {
        if (child.pid !== undefined) return;
        this.#end = { code: null, signal: null, spawnError: error };
        resolve(this.#end);
      });
    });
    child.once('exit', (code, signal) => {
      this.#end ??= { code, signal };
    });
    this.#cleanedUp = this.ended
      .then(() => rm(dir, { recursive: true, force: true }))
      .catch(() => undefined)
      .then(() => releaseGuard?.());
  }

  /** The process id (`undefined` when the spawn failed). */
  get pid(): number | undefined {
    return this.#child.pid;
  }

  /** Whether the process has exited (or never ran). */
  get exited(): boolean {
    return this.#end !== undefined;
  }

  /**
   * Lets this process exit while the server still runs (a test runner whose teardown was forgotten must not
   * hang); the exit hook and the watchdog then kill the server.
   */
  detachFromEventLoop(): void {
    this.#child.unref();
    (this.#child.stdout as Socket | null)?.unref();
    (this.#child.stderr as Socket | null)?.unref();
  }

  /** SIGKILL, for a server that failed to start. Resolves once it has ended and its directory is gone. */
  async kill(): Promise<void> {
    if (!this.exited) this.#child.kill('SIGKILL');
    await this.#cleanedUp;
  }

  /** SIGTERM, SIGKILL after `graceMs`; resolves once the process has exited and its directory is gone. */
  stop(graceMs: number): Promise<void> {
    this.#stopping ??= (async () => {
      // Hold the event loop open until the end is seen, or an awaiting caller would find the process gone.
      this.#child.ref();
      (this.#child.stdout as Socket | null)?.ref();
      (this.#child.stderr as Socket | null)?.ref();
      if (this.exited) return this.#cleanedUp;
      this.#child.kill('SIGTERM');
      const escalate = setTimeout(() => this.#child.kill('SIGKILL'), graceMs);
      try {
        await this.#cleanedUp;
      } finally {
        clearTimeout(escalate);
      }
    })();
    return this.#stopping;
  }
}
