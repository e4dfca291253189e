import { spawn, type ChildProcess } from 'node:child_process';
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
 * One spawned redis-server: its output tail, its end, and a stop that ends exactly this process. It is SIGKILLed
 * if this process exits first (see {@link killWithParent}).
 */
export class RedisProcess {
  readonly output = new OutputTail();
  /** Settles once the process has ended and its pipes are drained (so `output` holds its last words). */
  readonly ended: Promise<ProcessEnd>;

  readonly #child: ChildProcess;
  readonly #releaseGuard: () => void;
  #end: ProcessEnd | undefined;
  #stopping: Promise<void> | undefined;

  constructor(binary: string, args: readonly string[]) {
    this.#child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const child = this.#child;
    const append = (chunk: Buffer): void => this.output.append(chunk);
    child.stdout?.on('data', append);
    child.stderr?.on('data', append);
    this.#releaseGuard = child.pid === undefined ? () => undefined : killWithParent(child);
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
      this.#releaseGuard();
    });
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

  /** SIGKILL, for a server that failed to start. Resolves once it has ended. */
  async kill(): Promise<void> {
    if (!this.exited) this.#child.kill('SIGKILL');
    await this.ended;
  }

  /** SIGTERM, SIGKILL after `graceMs`; resolves once the process has exited. Idempotent. */
  stop(graceMs: number): Promise<void> {
    this.#stopping ??= (async () => {
      if (this.exited) return;
      // Hold the event loop open until the exit is seen, or an awaiting caller would find the process gone.
      this.#child.ref();
      const exited = new Promise<void>((resolve) => this.#child.once('exit', () => resolve()));
      this.#child.kill('SIGTERM');
      const escalate = setTimeout(() => this.#child.kill('SIGKILL'), graceMs);
      try {
        await exited;
      } finally {
        clearTimeout(escalate);
      }
    })();
    return this.#stopping;
  }
}
