import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { LOOPBACK_HOST, getFreePorts } from './free-port';
import { reapOnExit } from './process-reaper';
import { generateTlsCerts, type TlsCerts } from './tls-certs';

/** How to configure a harness redis-server. Everything is off unless asked for. */
export interface RedisServerOptions {
  /** Sets `requirepass`, i.e. the password of the `default` user. */
  password?: string;
  /** ACL lines without the leading `user `, e.g. `alice on >pw ~* &* +@all`. */
  users?: string[];
  /** Opens a TLS port next to the plain one; `authClients` defaults to `optional`. */
  tls?: boolean | { authClients?: 'yes' | 'no' | 'optional' };
  /** Listens on `<dir>/redis.sock` too. */
  unixSocket?: boolean;
  /** Fixed plain TCP port; a free one is picked otherwise. */
  port?: number;
  /** Extra redis.conf lines, appended last so they win. */
  extraConfig?: string[];
}

/** Everything a {@link RedisServerHandle} needs; built by {@link startRedisServer}. */
export interface RedisServerInit {
  port: number;
  tlsPort?: number;
  socketPath?: string;
  password?: string;
  dir: string;
  certs?: TlsCerts;
  configPath: string;
}

/** One record of `CLIENT LIST`, e.g. `{ id: '7', addr: '127.0.0.1:50312', cmd: 'ping', ... }`. */
export type RedisClientInfo = Record<string, string>;

interface Run {
  child: ChildProcess;
  /** Settles once the process exited and its stdio pipes closed. */
  closed: Promise<void>;
  exited: boolean;
  releaseReaper: () => void;
}

const READY_TIMEOUT_MS = 10_000;
const STOP_GRACE_MS = 5_000;
const CLI_TIMEOUT_MS = 10_000;
const MAX_LOG_CHARS = 256 * 1024;
const START_ATTEMPTS = 3;

const liveHandles = new Set<RedisServerHandle>();
/** Unregisters each temp dir from the reaper once dispose() removed it. */
const dirReleases = new Map<string, () => void>();

function releaseDir(dir: string): void {
  dirReleases.get(dir)?.();
  dirReleases.delete(dir);
}

/** Quotes a redis.conf argument (sdssplitargs syntax) so paths and passwords may hold anything. */
function confQuote(value: string): string {
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n').replace(/\r/g, '\\r')}"`;
}

function parseClientList(text: string): RedisClientInfo[] {
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line.length > 0)
    .map((line) => {
      const record: RedisClientInfo = {};
      for (const field of line.split(' ')) {
        const eq = field.indexOf('=');
        if (eq > 0) record[field.slice(0, eq)] = field.slice(eq + 1);
      }
      return record;
    });
}

/**
 * A redis-server child process owned by one test file.
 *
 * Ports, socket path and config survive {@link RedisServerHandle.restart}, so clients can
 * reconnect to the same address. Always {@link RedisServerHandle.dispose} it (or use
 * {@link useRedisServer}); a watchdog kills leftovers if the test process dies first.
 */
export class RedisServerHandle {
  /** Always loopback. */
  readonly host = LOOPBACK_HOST;
  /** Plain TCP port (also when TLS is enabled). */
  readonly port: number;
  /** TLS port, only with the `tls` option. */
  readonly tlsPort?: number;
  /** Unix socket path, only with the `unixSocket` option. */
  readonly socketPath?: string;
  /** Password of the `default` user, if any. */
  readonly password?: string;
  /** Private temp dir holding redis.conf and the unix socket; removed by dispose(). */
  readonly dir: string;
  /** The PKI the TLS port uses, only with the `tls` option. */
  readonly certs?: TlsCerts;
  /** Path of the generated redis.conf. */
  readonly configPath: string;

  #run: Run | undefined;
  #frozen = false;
  #log = '';
  /** Characters trimmed off the front of #log, so log marks stay valid after trimming. */
  #logDropped = 0;
  #disposing: Promise<void> | undefined;

  /** Prefer {@link startRedisServer}; this only records the layout, it starts nothing. */
  constructor(init: RedisServerInit) {
    this.port = init.port;
    this.tlsPort = init.tlsPort;
    this.socketPath = init.socketPath;
    this.password = init.password;
    this.dir = init.dir;
    this.certs = init.certs;
    this.configPath = init.configPath;
    liveHandles.add(this);
  }

  /** Pid of the running process, `undefined` while stopped. */
  get pid(): number | undefined {
    return this.#run?.child.pid;
  }

  /** Whether a redis-server process is currently alive (possibly frozen). */
  get running(): boolean {
    return this.#run !== undefined && !this.#run.exited;
  }

  /** Whether {@link RedisServerHandle.freeze} is in effect. */
  get frozen(): boolean {
    return this.#frozen;
  }

  /** Everything the server logged so far, across restarts (tail-truncated when huge). */
  get log(): string {
    return this.#log;
  }

  /** `redis://[:password@]127.0.0.1:<port>` for the plain port. */
  get url(): string {
    return `redis://${this.#auth()}${this.host}:${this.port}`;
  }

  /** `rediss://[:password@]127.0.0.1:<tlsPort>`, only with the `tls` option. */
  get tlsUrl(): string | undefined {
    return this.tlsPort === undefined
      ? undefined
      : `rediss://${this.#auth()}${this.host}:${this.tlsPort}`;
  }

  /** Starts the process (again) and resolves once it accepts connections. */
  async start(): Promise<void> {
    if (this.#disposing) throw new Error('redis-server handle was disposed');
    if (this.running) throw new Error(`redis-server on port ${this.port} is already running`);
    const logStart = this.#logDropped + this.#log.length;
    const child = spawn('redis-server', [this.configPath], {
      cwd: this.dir,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const run: Run = {
      child,
      exited: false,
      closed: Promise.resolve(),
      releaseReaper: () => undefined,
    };
    run.closed = new Promise<void>((resolve) => {
      child.once('close', () => resolve());
      // A failed spawn (ENOENT...) never emits 'close'.
      child.once('error', () => {
        if (child.pid === undefined) resolve();
      });
    });
    const markExited = (): void => {
      run.exited = true;
      run.releaseReaper();
      if (this.#run === run) this.#frozen = false;
    };
    child.once('exit', markExited);
    if (child.pid !== undefined) {
      run.releaseReaper = reapOnExit({ pid: child.pid });
    }
    this.#run = run;
    this.#frozen = false;

    // Keep draining both pipes for the whole life of the process: a full pipe would block
    // redis on its next log write.
    const append = (chunk: Buffer): void => {
      this.#log += chunk.toString('utf8');
      const excess = this.#log.length - MAX_LOG_CHARS;
      if (excess > 0) {
        this.#log = this.#log.slice(excess);
        this.#logDropped += excess;
      }
    };
    child.stdout?.on('data', append);
    child.stderr?.on('data', append);

    try {
      await this.#waitUntilReady(run, logStart);
    } catch (error) {
      if (!run.exited) child.kill('SIGKILL');
      // Waiting for 'close' guarantees the log holds redis' last words before quoting it.
      await run.closed;
      if (this.#run === run) this.#run = undefined;
      const reason = error instanceof Error ? error.message : String(error);
      throw new Error(
        `redis-server (${this.configPath}) ${reason}\n--- log ---\n${this.#logSince(logStart)}`,
        { cause: error },
      );
    }
  }

  /** Graceful shutdown (SIGTERM), escalating to SIGKILL after 5 s. No-op when stopped. */
  async stop(): Promise<void> {
    const run = this.#run;
    if (!run) return;
    if (!run.exited) {
      // A stopped process would hold SIGTERM pending forever.
      if (this.#frozen) this.resume();
      run.child.kill('SIGTERM');
      const escalate = setTimeout(() => run.child.kill('SIGKILL'), STOP_GRACE_MS);
      try {
        await run.closed;
      } finally {
        clearTimeout(escalate);
      }
    }
    await run.closed;
    if (this.#run === run) this.#run = undefined;
  }

  /** Simulates a crash (SIGKILL): no shutdown work, the kernel closes its sockets. No-op when stopped. */
  async kill(): Promise<void> {
    const run = this.#run;
    if (!run) return;
    if (!run.exited) run.child.kill('SIGKILL');
    await run.closed;
    this.#frozen = false;
    if (this.#run === run) this.#run = undefined;
  }

  /**
   * Suspends the process (SIGSTOP): connections stay open but nothing is answered, like a
   * hung server or a long GC-style stall.
   */
  freeze(): void {
    const run = this.#requireRunning('freeze');
    run.child.kill('SIGSTOP');
    this.#frozen = true;
  }

  /** Undoes {@link RedisServerHandle.freeze} (SIGCONT); queued commands are then answered. */
  resume(): void {
    const run = this.#requireRunning('resume');
    run.child.kill('SIGCONT');
    this.#frozen = false;
  }

  /** Stops the server if running and starts it again on the same ports, socket and config. */
  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }

  /**
   * Runs `redis-cli` against the plain port (authenticated as `default` when a password is set)
   * and returns its trimmed stdout.
   *
   * Error replies come back as text (e.g. `ERR unknown command ...`) because redis-cli exits 0
   * for them; only failures to run or connect reject.
   */
  cli(...args: string[]): Promise<string> {
    return this.#runCli(args);
  }

  /**
   * Parsed `CLIENT LIST` without the redis-cli connection that asked for it.
   *
   * The inspecting connection is identified by its `CLIENT ID`, so a test's own connection
   * whose last command happened to be CLIENT LIST is still reported.
   */
  async clientList(): Promise<RedisClientInfo[]> {
    const output = await this.#runCli([], 'CLIENT ID\nCLIENT LIST\n');
    const newline = output.indexOf('\n');
    const ownId = newline < 0 ? output : output.slice(0, newline);
    const listing = newline < 0 ? '' : output.slice(newline + 1);
    return parseClientList(listing).filter((client) => client.id !== ownId.trim());
  }

  /** Kills the process (resuming it first if frozen) and deletes the temp dir. Idempotent. */
  dispose(): Promise<void> {
    this.#disposing ??= (async () => {
      try {
        if (this.running && this.#frozen) this.resume();
        await this.kill();
        await rm(this.dir, { recursive: true, force: true });
      } finally {
        liveHandles.delete(this);
        releaseDir(this.dir);
      }
    })();
    return this.#disposing;
  }

  #logSince(mark: number): string {
    return this.#log.slice(Math.max(0, mark - this.#logDropped));
  }

  #auth(): string {
    return this.password === undefined ? '' : `:${encodeURIComponent(this.password)}@`;
  }

  #requireRunning(action: string): Run {
    const run = this.#run;
    if (!run || run.exited) throw new Error(`cannot ${action}: redis-server is not running`);
    return run;
  }

  #waitUntilReady(run: Run, logStart: number): Promise<void> {
    const { child } = run;
    return new Promise<void>((resolve, reject) => {
      const isReady = (): boolean => {
        const log = this.#logSince(logStart);
        // The unix socket line comes after the TCP one; wait for it so the socket file exists.
        return (
          log.includes('Ready to accept connections') &&
          (this.socketPath === undefined || log.includes('ready to accept connections at'))
        );
      };
      const cleanup = (): void => {
        clearTimeout(timer);
        child.stdout?.off('data', onData);
        child.stderr?.off('data', onData);
        child.off('exit', onExit);
        child.off('error', onError);
      };
      const fail = (reason: string): void => {
        cleanup();
        reject(new Error(reason));
      };
      const onData = (): void => {
        if (isReady()) {
          cleanup();
          resolve();
        }
      };
      const onExit = (code: number | null, signal: NodeJS.Signals | null): void =>
        fail(`exited before becoming ready (code ${code}, signal ${signal})`);
      const onError = (error: Error): void => fail(`failed to spawn: ${error.message}`);
      const timer = setTimeout(
        () => fail(`not ready after ${READY_TIMEOUT_MS} ms`),
        READY_TIMEOUT_MS,
      );
      child.stdout?.on('data', onData);
      child.stderr?.on('data', onData);
      child.once('exit', onExit);
      child.once('error', onError);
    });
  }

  #runCli(args: string[], script?: string): Promise<string> {
    const argv = ['-h', this.host, '-p', String(this.port)];
    if (this.password !== undefined) argv.push('-a', this.password, '--no-auth-warning');
    argv.push(...args);
    return new Promise((resolve, reject) => {
      // spawn rather than execFile: the script form feeds commands through stdin.
      const child = spawn('redis-cli', argv, {
        stdio: [script === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      let settled = false;
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        finish(new Error(`redis-cli ${args.join(' ')} timed out after ${CLI_TIMEOUT_MS} ms`));
      }, CLI_TIMEOUT_MS);
      const finish = (error?: Error): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (error) reject(error);
        else resolve(stdout.trim());
      };
      child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
      child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
      child.once('error', (error) => finish(error));
      child.once('close', (code, signal) => {
        if (code === 0) finish();
        else
          finish(
            new Error(
              `redis-cli ${args.join(' ')} failed (code ${code}, signal ${signal}): ${stderr.trim() || stdout.trim()}`,
            ),
          );
      });
      if (script !== undefined) {
        child.stdin?.on('error', () => undefined);
        child.stdin?.end(script);
      }
    });
  }
}

function buildConfig(init: RedisServerInit, options: RedisServerOptions): string {
  const lines = [
    `bind ${LOOPBACK_HOST}`,
    `port ${init.port}`,
    'save ""',
    'appendonly no',
    'enable-debug-command local',
    `dir ${confQuote(init.dir)}`,
    'logfile ""',
    'daemonize no',
    'protected-mode no',
  ];
  if (init.socketPath !== undefined) {
    lines.push(`unixsocket ${confQuote(init.socketPath)}`, 'unixsocketperm 700');
  }
  if (init.password !== undefined) lines.push(`requirepass ${confQuote(init.password)}`);
  for (const user of options.users ?? []) lines.push(`user ${user}`);
  if (init.tlsPort !== undefined && init.certs) {
    const authClients =
      typeof options.tls === 'object' ? (options.tls.authClients ?? 'optional') : 'optional';
    lines.push(
      `tls-port ${init.tlsPort}`,
      `tls-cert-file ${confQuote(init.certs.certPath)}`,
      `tls-key-file ${confQuote(init.certs.keyPath)}`,
      `tls-ca-cert-file ${confQuote(init.certs.caPath)}`,
      `tls-auth-clients ${authClients}`,
    );
  }
  lines.push(...(options.extraConfig ?? []));
  return `${lines.join('\n')}\n`;
}

async function createHandle(
  options: RedisServerOptions,
  certs: TlsCerts | undefined,
): Promise<RedisServerHandle> {
  const wantsTls = certs !== undefined;
  const needed = (options.port === undefined ? 1 : 0) + (wantsTls ? 1 : 0);
  const ports = needed > 0 ? await getFreePorts(needed) : [];
  const port = options.port ?? ports.shift()!;
  const dir = await mkdtemp(join(tmpdir(), 'nrp-redis-'));
  dirReleases.set(dir, reapOnExit({ dir }));
  const init: RedisServerInit = {
    port,
    tlsPort: wantsTls ? ports.shift() : undefined,
    socketPath: options.unixSocket ? join(dir, 'redis.sock') : undefined,
    password: options.password,
    dir,
    certs,
    configPath: join(dir, 'redis.conf'),
  };
  await writeFile(init.configPath, buildConfig(init, options), { mode: 0o600 });
  return new RedisServerHandle(init);
}

/**
 * Writes a redis.conf into a fresh temp dir and starts `redis-server` on free loopback ports,
 * resolving once it accepts connections (rejecting with its log after 10 s or an early exit).
 *
 * Free ports can be taken between picking and binding, so a bind failure is retried on new
 * ports unless `options.port` pins the port.
 */
export async function startRedisServer(
  options: RedisServerOptions = {},
): Promise<RedisServerHandle> {
  const certs = options.tls ? await generateTlsCerts() : undefined;
  for (let attempt = 1; ; attempt += 1) {
    const handle = await createHandle(options, certs);
    try {
      await handle.start();
      return handle;
    } catch (error) {
      await handle.dispose();
      const portClash = error instanceof Error && /Address already in use/i.test(error.message);
      if (!portClash || options.port !== undefined || attempt >= START_ATTEMPTS) throw error;
    }
  }
}

/** Disposes every handle this module created that is not disposed yet. */
export async function disposeAllRedisServers(): Promise<void> {
  await Promise.all([...liveHandles].map((handle) => handle.dispose()));
}

/**
 * Jest helper: starts a server in `beforeAll`, disposes it in `afterAll`, and returns a getter
 * to call from tests and later hooks.
 */
export function useRedisServer(options?: RedisServerOptions): () => RedisServerHandle {
  let handle: RedisServerHandle | undefined;
  beforeAll(async () => {
    handle = await startRedisServer(options);
  });
  afterAll(async () => {
    await handle?.dispose();
    handle = undefined;
  });
  return () => {
    if (!handle) throw new Error('useRedisServer: server is only available inside tests and hooks');
    return handle;
  };
}
