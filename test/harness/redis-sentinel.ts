import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { LOOPBACK_HOST, getFreePorts } from './free-port';
import { reapOnExit } from './process-reaper';
import { startRedisServer, type RedisServerHandle } from './redis-server';

/** A host/port pair as sentinels report them; always `127.0.0.1` in this harness. */
export interface SentinelAddress {
  host: string;
  port: number;
}

/**
 * Which master {@link RedisSentinelHandle.waitForMaster} waits for: any master the sentinels
 * agree on (`undefined`), one satisfying a predicate, or any master *but* the given address
 * (an address or a node handle, typically the master that was just killed).
 */
export type MasterCondition = ((address: SentinelAddress) => boolean) | SentinelAddress;

/**
 * `SENTINEL DEBUG` timers (ms), e.g. `{ 'info-period': 1000 }`. They live in memory only, so
 * the harness re-applies them whenever a sentinel (re)starts.
 */
export type SentinelTimers = Record<string, number>;

/** How to build a harness master/replicas/sentinels topology. */
export interface RedisSentinelOptions {
  /** Name the sentinels monitor the master under. Default `mymaster`. */
  masterName?: string;
  /** Number of replicas of the initial master. Default 2. */
  replicas?: number;
  /** Number of sentinels. Default 3. */
  sentinels?: number;
  /** Sentinels that must agree the master is down (ODOWN). Default 2. */
  quorum?: number;
  /** `sentinel down-after-milliseconds`. Default 1000. */
  downAfterMs?: number;
  /** `sentinel failover-timeout`; a failed election is retried after twice this. Default 3000. */
  failoverTimeoutMs?: number;
  /**
   * Password of the data nodes: `requirepass` everywhere, `masterauth` so any node can
   * replicate from any other, and `sentinel auth-pass` on the sentinels. Like every credential
   * here it may not hold blanks, quotes or backslashes (Sentinel rewrites them unquoted).
   */
  password?: string;
  /**
   * ACL user added to every data node (with `password`, full access); replicas and sentinels
   * then authenticate as this user (`masteruser`, `sentinel auth-user`). `default` keeps
   * `requirepass`, so `cli()` on data nodes still works. Needs `password`.
   */
  username?: string;
  /** The sentinels' own `requirepass`, also used between sentinels (`sentinel sentinel-pass`). */
  sentinelPassword?: string;
  /**
   * ACL user added to every sentinel (with `sentinelPassword`, full access); sentinels talk to
   * each other and `cli()` talks to them as this user. Needs `sentinelPassword`.
   */
  sentinelUsername?: string;
  /** Merged over {@link DEFAULT_SENTINEL_TIMERS}; pass the stock values to undo one. */
  sentinelTimers?: SentinelTimers;
  /** Extra redis.conf lines for every data node, appended last so they win. */
  extraConfig?: string[];
  /** Extra sentinel.conf lines for every sentinel, appended last. */
  extraSentinelConfig?: string[];
  /** Bound on the start-up wait for every sentinel to see the whole topology. Default 20 s. */
  startTimeoutMs?: number;
}

/** The lifecycle and inspection surface shared by data nodes and sentinels. */
export interface RedisNodeHandle {
  readonly host: string;
  readonly port: number;
  readonly password?: string;
  readonly dir: string;
  readonly configPath: string;
  readonly pid: number | undefined;
  readonly running: boolean;
  readonly frozen: boolean;
  readonly log: string;
  readonly url: string;
  start(): Promise<void>;
  stop(): Promise<void>;
  kill(): Promise<void>;
  freeze(): void;
  resume(): void;
  restart(): Promise<void>;
  cli(...args: string[]): Promise<string>;
  dispose(): Promise<void>;
}

/**
 * Shorter than Sentinel's own defaults so discovery, demotion of a returning old master and
 * recovery from TILT take seconds rather than tens of seconds: INFO every 1 s instead of 10 s,
 * hello messages every 0.5 s instead of 2 s, TILT (entered after a sentinel was frozen) lasts
 * 5 s instead of 30 s.
 *
 * `ping-period` matters most: a sentinel's link to a just-promoted master counts as "pinged
 * at creation" yet sends its first PING only one ping period later, so with the default 1 s
 * period and a 1 s `down-after-milliseconds` the new master is briefly flagged `+sdown`; the
 * other sentinels' still-valid "down" replies about the *previous* master then turn that blip
 * into an immediate ODOWN and a second, spurious failover. Pinging every 250 ms avoids it.
 */
export const DEFAULT_SENTINEL_TIMERS: Readonly<SentinelTimers> = Object.freeze({
  'ping-period': 250,
  'info-period': 1000,
  'publish-period': 500,
  'tilt-period': 5000,
});

const DEFAULT_MASTER_NAME = 'mymaster';
const DEFAULT_REPLICAS = 2;
const DEFAULT_SENTINELS = 3;
const DEFAULT_QUORUM = 2;
const DEFAULT_DOWN_AFTER_MS = 1000;
const DEFAULT_FAILOVER_TIMEOUT_MS = 3000;
const DEFAULT_WAIT_MS = 20_000;
const READY_TIMEOUT_MS = 10_000;
const STOP_GRACE_MS = 5_000;
const CLI_TIMEOUT_MS = 10_000;
const MAX_LOG_CHARS = 256 * 1024;
const START_ATTEMPTS = 3;
const POLL_MS = 100;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Quotes a config argument (sdssplitargs syntax) so paths and passwords may hold anything. */
function confQuote(value: string): string {
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n').replace(/\r/g, '\\r')}"`;
}

/**
 * Polls `probe` until it returns `undefined` (done), or throws after `timeoutMs` quoting the
 * last reason it gave. A probe that throws counts as "not yet": nodes come and go in these tests.
 */
async function waitUntil(
  what: string,
  timeoutMs: number,
  probe: () => Promise<string | undefined>,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let lastReason: string;
    try {
      const reason = await probe();
      if (reason === undefined) return;
      lastReason = reason;
    } catch (error) {
      lastReason = messageOf(error);
    }
    if (Date.now() >= deadline) {
      throw new Error(`${what}: not reached within ${timeoutMs} ms (last seen: ${lastReason})`);
    }
    await sleep(POLL_MS);
  }
}

/** Runs a command through `redis-cli --json` and parses the reply; error replies throw. */
async function jsonCommand(node: RedisNodeHandle, ...args: string[]): Promise<unknown> {
  const output = await node.cli('--json', ...args);
  if (output.startsWith('error:')) {
    throw new Error(`${args.join(' ')} on port ${node.port}: ${output.slice('error:'.length)}`);
  }
  return JSON.parse(output) as unknown;
}

/**
 * Turns a `SENTINEL MASTER`-style reply into a record: `redis-cli --json` speaks RESP3, where
 * it is a map (a JSON object); over RESP2 it is a flat `[key, value, ...]` array.
 */
function parseRecord(reply: unknown): Record<string, string> {
  const record: Record<string, string> = {};
  if (Array.isArray(reply)) {
    for (let i = 0; i + 1 < reply.length; i += 2) record[String(reply[i])] = String(reply[i + 1]);
    return record;
  }
  if (reply === null || typeof reply !== 'object') {
    throw new Error(`expected a map, got ${JSON.stringify(reply)}`);
  }
  for (const [key, value] of Object.entries(reply)) record[key] = String(value);
  return record;
}

function parseRecordList(reply: unknown): Record<string, string>[] {
  if (!Array.isArray(reply)) throw new Error(`expected an array, got ${JSON.stringify(reply)}`);
  return reply.map(parseRecord);
}

/** Parses `key:value` lines of `INFO`. */
function parseInfo(text: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon > 0 && !line.startsWith('#')) fields.set(line.slice(0, colon), line.slice(colon + 1));
  }
  return fields;
}

function formatAddress(address: SentinelAddress): string {
  return `${address.host}:${address.port}`;
}

function sameAddress(a: SentinelAddress, b: SentinelAddress): boolean {
  return a.host === b.host && a.port === b.port;
}

function isLive(node: RedisNodeHandle): boolean {
  return node.running && !node.frozen;
}

/** Runs `redis-cli` with `argv` (connection flags included), resolving its trimmed stdout. */
function runRedisCli(argv: string[], label: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('redis-cli', argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let settled = false;
    const finish = (error?: Error): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (error) reject(error);
      else resolve(stdout.trim());
    };
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      finish(new Error(`redis-cli ${label} timed out after ${CLI_TIMEOUT_MS} ms`));
    }, CLI_TIMEOUT_MS);
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.once('error', (error) => finish(error));
    child.once('close', (code, signal) => {
      if (code === 0) finish();
      else
        finish(
          new Error(
            `redis-cli ${label} failed (code ${code}, signal ${signal}): ${stderr.trim() || stdout.trim()}`,
          ),
        );
    });
  });
}

interface Run {
  child: ChildProcess;
  /** Settles once the process exited and its stdio pipes closed. */
  closed: Promise<void>;
  exited: boolean;
  releaseReaper: () => void;
}

/** Everything a {@link RedisSentinelNode} needs; built by the topology start-up. */
export interface RedisSentinelNodeInit {
  port: number;
  dir: string;
  configPath: string;
  /** The sentinel's own `requirepass`. */
  password?: string;
  /** ACL user `cli()` authenticates as (with `password`). */
  username?: string;
  /** `SENTINEL DEBUG` timers applied after every start. */
  timers: SentinelTimers;
}

/**
 * A `redis-server --sentinel` child process with the same lifecycle as
 * {@link RedisServerHandle}: start, stop (SIGTERM), kill (SIGKILL), freeze (SIGSTOP), resume
 * (SIGCONT), restart on the same port and (sentinel-rewritten) config, cli, dispose.
 *
 * Sentinel rewrites its config file as it learns the topology, so a restarted sentinel keeps
 * its id, known replicas and known sentinels.
 */
export class RedisSentinelNode implements RedisNodeHandle {
  /** Always loopback. */
  readonly host = LOOPBACK_HOST;
  readonly port: number;
  /** The sentinel's own password, if any. */
  readonly password?: string;
  /** The ACL user `cli()` authenticates as, if any. */
  readonly username?: string;
  /** Private temp dir holding sentinel.conf; removed by dispose(). */
  readonly dir: string;
  /** Path of sentinel.conf (rewritten by the sentinel itself). */
  readonly configPath: string;

  readonly #timers: SentinelTimers;
  readonly #releaseDir: () => void;
  #run: Run | undefined;
  #frozen = false;
  #log = '';
  #logDropped = 0;
  #disposing: Promise<void> | undefined;

  /** Prefer {@link RedisSentinelHandle.addSentinel}; this only records the layout. */
  constructor(init: RedisSentinelNodeInit) {
    this.port = init.port;
    this.dir = init.dir;
    this.configPath = init.configPath;
    this.password = init.password;
    this.username = init.username;
    this.#timers = { ...init.timers };
    this.#releaseDir = reapOnExit({ dir: init.dir });
  }

  /** Pid of the running process, `undefined` while stopped. */
  get pid(): number | undefined {
    return this.#run?.child.pid;
  }

  /** Whether the process is alive (possibly frozen). */
  get running(): boolean {
    return this.#run !== undefined && !this.#run.exited;
  }

  /** Whether {@link RedisSentinelNode.freeze} is in effect. */
  get frozen(): boolean {
    return this.#frozen;
  }

  /** Everything the sentinel logged so far (`+sdown`, `+switch-master`, ...), across restarts. */
  get log(): string {
    return this.#log;
  }

  /** `redis://[[user]:password@]127.0.0.1:<port>`. */
  get url(): string {
    const auth =
      this.password === undefined
        ? ''
        : `${encodeURIComponent(this.username ?? '')}:${encodeURIComponent(this.password)}@`;
    return `redis://${auth}${this.host}:${this.port}`;
  }

  /** Starts the process (again); resolves once it listens and its timers are applied. */
  async start(): Promise<void> {
    if (this.#disposing) throw new Error('sentinel handle was disposed');
    if (this.running) throw new Error(`sentinel on port ${this.port} is already running`);
    const logStart = this.#logDropped + this.#log.length;
    const child = spawn('redis-server', [this.configPath, '--sentinel'], {
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
      child.once('error', () => {
        if (child.pid === undefined) resolve();
      });
    });
    child.once('exit', () => {
      run.exited = true;
      run.releaseReaper();
      if (this.#run === run) this.#frozen = false;
    });
    if (child.pid !== undefined) run.releaseReaper = reapOnExit({ pid: child.pid });
    this.#run = run;
    this.#frozen = false;
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
      await this.#applyTimers();
    } catch (error) {
      if (!run.exited) child.kill('SIGKILL');
      await run.closed;
      if (this.#run === run) this.#run = undefined;
      throw new Error(
        `sentinel (${this.configPath}) ${messageOf(error)}\n--- log ---\n${this.#logSince(logStart)}`,
        { cause: error },
      );
    }
  }

  /** Graceful shutdown (SIGTERM), escalating to SIGKILL after 5 s. No-op when stopped. */
  async stop(): Promise<void> {
    const run = this.#run;
    if (!run) return;
    if (!run.exited) {
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

  /** Simulates a crash (SIGKILL). No-op when stopped. */
  async kill(): Promise<void> {
    const run = this.#run;
    if (!run) return;
    if (!run.exited) run.child.kill('SIGKILL');
    await run.closed;
    this.#frozen = false;
    if (this.#run === run) this.#run = undefined;
  }

  /** Suspends the process (SIGSTOP); after resume() it spends a TILT period doing nothing. */
  freeze(): void {
    this.#requireRunning('freeze').child.kill('SIGSTOP');
    this.#frozen = true;
  }

  /** Undoes {@link RedisSentinelNode.freeze} (SIGCONT). */
  resume(): void {
    this.#requireRunning('resume').child.kill('SIGCONT');
    this.#frozen = false;
  }

  /** Stops the sentinel if running and starts it again on the same port and config. */
  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }

  /**
   * Runs `redis-cli` against the sentinel (authenticated when it has a password) and returns
   * its trimmed stdout; error replies come back as text, like {@link RedisServerHandle.cli}.
   */
  cli(...args: string[]): Promise<string> {
    const argv = ['-h', this.host, '-p', String(this.port)];
    if (this.password !== undefined && this.username !== undefined) {
      argv.push('--user', this.username, '--pass', this.password, '--no-auth-warning');
    } else if (this.password !== undefined) {
      argv.push('-a', this.password, '--no-auth-warning');
    }
    return runRedisCli([...argv, ...args], args.join(' '));
  }

  /** `SENTINEL MYID`; kept across restarts because the sentinel saves it in its config. */
  async myId(): Promise<string> {
    return String(await jsonCommand(this, 'SENTINEL', 'MYID'));
  }

  /** Kills the process (resuming it first if frozen) and deletes the temp dir. Idempotent. */
  dispose(): Promise<void> {
    this.#disposing ??= (async () => {
      try {
        if (this.running && this.#frozen) this.resume();
        await this.kill();
        await rm(this.dir, { recursive: true, force: true });
      } finally {
        this.#releaseDir();
      }
    })();
    return this.#disposing;
  }

  async #applyTimers(): Promise<void> {
    const pairs = Object.entries(this.#timers).flatMap(([name, ms]) => [name, String(ms)]);
    if (pairs.length === 0) return;
    const reply = await jsonCommand(this, 'SENTINEL', 'DEBUG', ...pairs);
    if (reply !== 'OK') throw new Error(`SENTINEL DEBUG answered ${JSON.stringify(reply)}`);
  }

  #logSince(mark: number): string {
    return this.#log.slice(Math.max(0, mark - this.#logDropped));
  }

  #requireRunning(action: string): Run {
    const run = this.#run;
    if (!run || run.exited) throw new Error(`cannot ${action}: sentinel is not running`);
    return run;
  }

  #waitUntilReady(run: Run, logStart: number): Promise<void> {
    const { child } = run;
    return new Promise<void>((resolve, reject) => {
      // Sentinel mode never logs "Ready to accept connections"; its id is logged once the
      // listening socket is open and the config was loaded.
      const isReady = (): boolean => this.#logSince(logStart).includes('Sentinel ID is');
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
      onData();
    });
  }
}

/** Options resolved to their defaults; what every sentinel and data node is configured from. */
export interface RedisSentinelSettings {
  masterName: string;
  replicas: number;
  sentinels: number;
  quorum: number;
  downAfterMs: number;
  failoverTimeoutMs: number;
  password?: string;
  username?: string;
  sentinelPassword?: string;
  sentinelUsername?: string;
  timers: SentinelTimers;
  extraConfig: string[];
  extraSentinelConfig: string[];
  startTimeoutMs: number;
}

function resolveSettings(options: RedisSentinelOptions): RedisSentinelSettings {
  const settings: RedisSentinelSettings = {
    masterName: options.masterName ?? DEFAULT_MASTER_NAME,
    replicas: options.replicas ?? DEFAULT_REPLICAS,
    sentinels: options.sentinels ?? DEFAULT_SENTINELS,
    quorum: options.quorum ?? DEFAULT_QUORUM,
    downAfterMs: options.downAfterMs ?? DEFAULT_DOWN_AFTER_MS,
    failoverTimeoutMs: options.failoverTimeoutMs ?? DEFAULT_FAILOVER_TIMEOUT_MS,
    password: options.password,
    username: options.username,
    sentinelPassword: options.sentinelPassword,
    sentinelUsername: options.sentinelUsername,
    timers: { ...DEFAULT_SENTINEL_TIMERS, ...options.sentinelTimers },
    extraConfig: options.extraConfig ?? [],
    extraSentinelConfig: options.extraSentinelConfig ?? [],
    startTimeoutMs: options.startTimeoutMs ?? DEFAULT_WAIT_MS,
  };
  const counts: [string, number, number][] = [
    ['replicas', settings.replicas, 0],
    ['sentinels', settings.sentinels, 1],
    ['quorum', settings.quorum, 1],
  ];
  for (const [name, value, min] of counts) {
    if (!Number.isInteger(value) || value < min) {
      throw new Error(`${name} must be an integer >= ${min}, got ${value}`);
    }
  }
  if (!/^[A-Za-z0-9._-]+$/.test(settings.masterName)) {
    throw new Error(`masterName must be a plain word, got ${JSON.stringify(settings.masterName)}`);
  }
  // Sentinel rewrites auth-pass / sentinel-pass / auth-user into its config unquoted, so a
  // restarted sentinel would misread credentials holding blanks or quotes.
  const credentials = {
    password: settings.password,
    username: settings.username,
    sentinelPassword: settings.sentinelPassword,
    sentinelUsername: settings.sentinelUsername,
  };
  for (const [name, value] of Object.entries(credentials)) {
    if (value !== undefined && !/^[^\s"'\\]+$/.test(value)) {
      throw new Error(`${name} must be non-empty without blanks, quotes or backslashes`);
    }
  }
  if (settings.username !== undefined && settings.password === undefined) {
    throw new Error('username needs password');
  }
  if (settings.sentinelUsername !== undefined && settings.sentinelPassword === undefined) {
    throw new Error('sentinelUsername needs sentinelPassword');
  }
  return settings;
}

/** The redis.conf lines of a data node; `masterPort` makes it a replica of that port. */
function dataNodeConfig(settings: RedisSentinelSettings, masterPort?: number): string[] {
  const lines = [
    // Sentinels learn replica addresses from the master's INFO; pin them to loopback.
    `replica-announce-ip ${LOOPBACK_HOST}`,
    // Full syncs start at once instead of waiting 5 s for more replicas.
    'repl-diskless-sync yes',
    'repl-diskless-sync-delay 0',
  ];
  // Every node may become a replica after a failover, so every node gets masterauth.
  if (settings.password !== undefined) lines.push(`masterauth ${confQuote(settings.password)}`);
  if (settings.username !== undefined) lines.push(`masteruser ${confQuote(settings.username)}`);
  if (masterPort !== undefined) lines.push(`replicaof ${LOOPBACK_HOST} ${masterPort}`);
  return [...lines, ...settings.extraConfig];
}

function dataNodeUsers(settings: RedisSentinelSettings): string[] {
  if (settings.username === undefined || settings.password === undefined) return [];
  return [`${settings.username} on ${confQuote(`>${settings.password}`)} ~* &* +@all`];
}

/** The sentinel.conf of a fresh sentinel monitoring `master`. */
function sentinelConfig(
  settings: RedisSentinelSettings,
  port: number,
  dir: string,
  master: SentinelAddress,
): string {
  const name = settings.masterName;
  const lines = [
    `port ${port}`,
    `bind ${LOOPBACK_HOST}`,
    'protected-mode no',
    'daemonize no',
    'logfile ""',
    `dir ${confQuote(dir)}`,
    'sentinel resolve-hostnames no',
    'sentinel announce-hostnames no',
    `sentinel announce-ip ${LOOPBACK_HOST}`,
  ];
  if (settings.sentinelPassword !== undefined) {
    lines.push(`requirepass ${confQuote(settings.sentinelPassword)}`);
    lines.push(`sentinel sentinel-pass ${confQuote(settings.sentinelPassword)}`);
    if (settings.sentinelUsername !== undefined) {
      lines.push(
        `user ${settings.sentinelUsername} on ${confQuote(`>${settings.sentinelPassword}`)} ~* &* +@all`,
        `sentinel sentinel-user ${confQuote(settings.sentinelUsername)}`,
      );
    }
  }
  lines.push(
    `sentinel monitor ${name} ${master.host} ${master.port} ${settings.quorum}`,
    `sentinel down-after-milliseconds ${name} ${settings.downAfterMs}`,
    `sentinel failover-timeout ${name} ${settings.failoverTimeoutMs}`,
    `sentinel parallel-syncs ${name} 1`,
  );
  if (settings.password !== undefined) {
    lines.push(`sentinel auth-pass ${name} ${confQuote(settings.password)}`);
  }
  if (settings.username !== undefined) {
    lines.push(`sentinel auth-user ${name} ${confQuote(settings.username)}`);
  }
  lines.push(...settings.extraSentinelConfig);
  return `${lines.join('\n')}\n`;
}

/** Starts one sentinel on a free port, retrying on fresh ports when the port was taken. */
async function startSentinelNode(
  settings: RedisSentinelSettings,
  master: SentinelAddress,
): Promise<RedisSentinelNode> {
  for (let attempt = 1; ; attempt += 1) {
    const [port] = (await getFreePorts(1)) as [number];
    const dir = await mkdtemp(join(tmpdir(), 'nrp-sentinel-'));
    const configPath = join(dir, 'sentinel.conf');
    const node = new RedisSentinelNode({
      port,
      dir,
      configPath,
      password: settings.sentinelPassword,
      username: settings.sentinelUsername,
      timers: settings.timers,
    });
    try {
      await writeFile(configPath, sentinelConfig(settings, port, dir, master), { mode: 0o600 });
      await node.start();
      return node;
    } catch (error) {
      await node.dispose();
      const portClash = /Address already in use/i.test(messageOf(error));
      if (!portClash || attempt >= START_ATTEMPTS) throw error;
    }
  }
}

/** Runs `start` `count` times in parallel; on any failure the started ones are disposed. */
async function startAll<T extends RedisNodeHandle>(
  count: number,
  start: () => Promise<T>,
): Promise<T[]> {
  const results = await Promise.allSettled(Array.from({ length: count }, start));
  const started = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const failure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failure) {
    await Promise.all(started.map((node) => node.dispose()));
    throw failure.reason;
  }
  return started;
}

/** Options of {@link RedisSentinelHandle.removeSentinel}. */
export interface RemoveSentinelOptions {
  /**
   * Send `SENTINEL RESET <master>` to the remaining sentinels so they forget the removed one
   * (sentinels never forget a peer by themselves, and a dead peer still counts towards the
   * majority a failover needs), then wait until they rediscovered each other. Default true.
   */
  reset?: boolean;
  /** Bound on that wait. */
  timeoutMs?: number;
}

/**
 * A master, its replicas and the sentinels monitoring them, owned by one test file; built by
 * {@link startRedisSentinel}.
 *
 * Data nodes are ordinary {@link RedisServerHandle}s and sentinels {@link RedisSentinelNode}s:
 * kill, freeze, resume or restart them directly. Queries only ask *live* processes (running and
 * not frozen).
 */
export class RedisSentinelHandle {
  /** The name the sentinels monitor the master under. */
  readonly masterName: string;
  /** `sentinel down-after-milliseconds` of every sentinel. */
  readonly downAfterMs: number;
  /** `sentinel failover-timeout` of every sentinel. */
  readonly failoverTimeoutMs: number;
  /** `sentinel monitor ... <quorum>` of every sentinel. */
  readonly quorum: number;
  /** Password of the data nodes (`requirepass`), if any. */
  readonly password?: string;
  /** ACL user of the data nodes, if any. */
  readonly username?: string;
  /** The sentinels' own password, if any. */
  readonly sentinelPassword?: string;
  /** ACL user of the sentinels, if any. */
  readonly sentinelUsername?: string;

  readonly #settings: RedisSentinelSettings;
  readonly #dataNodes: RedisServerHandle[];
  readonly #sentinels: RedisSentinelNode[];
  /** Every sentinel ever started, removed ones too, so dispose() misses none. */
  readonly #allSentinels: RedisSentinelNode[];
  #master: RedisServerHandle;
  #disposing: Promise<void> | undefined;

  /** Prefer {@link startRedisSentinel}; this only wraps already started processes. */
  constructor(
    settings: RedisSentinelSettings,
    master: RedisServerHandle,
    replicas: RedisServerHandle[],
    sentinels: RedisSentinelNode[],
  ) {
    this.#settings = settings;
    this.masterName = settings.masterName;
    this.downAfterMs = settings.downAfterMs;
    this.failoverTimeoutMs = settings.failoverTimeoutMs;
    this.quorum = settings.quorum;
    this.password = settings.password;
    this.username = settings.username;
    this.sentinelPassword = settings.sentinelPassword;
    this.sentinelUsername = settings.sentinelUsername;
    this.#master = master;
    this.#dataNodes = [master, ...replicas];
    this.#sentinels = [...sentinels];
    this.#allSentinels = [...sentinels];
  }

  /**
   * Generous bound for one failover: detection, ODOWN, a possibly failed first election (retried
   * after twice the failover timeout) and the promotion itself, plus slack for a loaded machine.
   */
  get failoverBudgetMs(): number {
    return Math.max(
      DEFAULT_WAIT_MS,
      this.downAfterMs + 3 * this.failoverTimeoutMs + DEFAULT_WAIT_MS / 2,
    );
  }

  /**
   * The master as last learned from the sentinels (the initial master until a
   * {@link currentMaster}, {@link waitForMaster} or {@link failover} saw another one).
   */
  master(): RedisServerHandle {
    return this.#master;
  }

  /** The data nodes other than {@link master}, in creation order. */
  replicas(): RedisServerHandle[] {
    return this.#dataNodes.filter((node) => node !== this.#master);
  }

  /** Every data node, initial master first. */
  dataNodes(): RedisServerHandle[] {
    return [...this.#dataNodes];
  }

  /** The current sentinels, in start order (removed ones are gone, added ones last). */
  sentinels(): RedisSentinelNode[] {
    return [...this.#sentinels];
  }

  /** Host/port of every current sentinel (dead ones too), for a client's sentinel list. */
  sentinelAddresses(): SentinelAddress[] {
    return this.#sentinels.map((node) => ({ host: node.host, port: node.port }));
  }

  /** The data node listening on `port`; throws for ports outside this topology. */
  nodeByPort(port: number): RedisServerHandle {
    const node = this.#dataNodes.find((candidate) => candidate.port === port);
    if (!node) throw new Error(`no data node on port ${port}`);
    return node;
  }

  /** The master address `SENTINEL GET-MASTER-ADDR-BY-NAME` gives (of `from`, else a live sentinel). */
  async currentMaster(from?: RedisSentinelNode): Promise<SentinelAddress> {
    const sentinel = from ?? this.#anyLiveSentinel();
    const address = await this.#masterAddressOf(sentinel);
    this.#learnMaster(address);
    return address;
  }

  /**
   * Resolves with the new master once every live sentinel names the same master satisfying
   * `condition` (an address means "any but this one") and that node itself says `role:master`.
   */
  async waitForMaster(
    condition?: MasterCondition,
    timeoutMs = this.failoverBudgetMs,
  ): Promise<RedisServerHandle> {
    const accepts = (address: SentinelAddress): boolean => {
      if (condition === undefined) return true;
      if (typeof condition === 'function') return condition(address);
      return !sameAddress(address, { host: condition.host, port: condition.port });
    };
    let found: SentinelAddress | undefined;
    await waitUntil('sentinels agree on a master', timeoutMs, async () => {
      const agreed = await this.#agreedMaster();
      if (typeof agreed === 'string') return agreed;
      if (!accepts(agreed)) return `sentinels still name ${formatAddress(agreed)}`;
      const node = this.nodeByPort(agreed.port);
      const role = parseInfo(await node.cli('INFO', 'replication')).get('role');
      if (role !== 'master') return `${formatAddress(agreed)} says role:${role}`;
      found = agreed;
      return undefined;
    });
    this.#learnMaster(found!);
    return this.#master;
  }

  /**
   * Resolves once the sentinels agree on a master that says `role:master`, and every other live
   * data node replicates from it with its link up and no sync in progress.
   */
  async waitForReplicasSynced(timeoutMs = this.failoverBudgetMs): Promise<void> {
    await waitUntil('replicas in sync', timeoutMs, async () => {
      const agreed = await this.#agreedMaster();
      if (typeof agreed === 'string') return agreed;
      const master = this.nodeByPort(agreed.port);
      const problems = await Promise.all(
        this.#dataNodes.filter(isLive).map(async (node) => {
          const info = parseInfo(await node.cli('INFO', 'replication'));
          const role = info.get('role');
          if (node === master) return role === 'master' ? undefined : `master says role:${role}`;
          const upstream = info.get('master_port');
          const link = info.get('master_link_status');
          const syncing = info.get('master_sync_in_progress');
          return role === 'slave' &&
            upstream === String(master.port) &&
            link === 'up' &&
            syncing === '0'
            ? undefined
            : `${node.port}: role:${role} master_port:${upstream} link:${link} syncing:${syncing}`;
        }),
      );
      const problem = problems.find((p) => p !== undefined);
      if (problem === undefined) this.#learnMaster(agreed);
      return problem;
    });
  }

  /**
   * Resolves once every live sentinel reports the same healthy master (no `s_down`, no failover
   * in progress), lists every other live data node as a healthy replica of it, and lists every
   * other live sentinel as a healthy peer. With `exactSentinels` it must know no other peer.
   */
  async waitForTopology(timeoutMs = DEFAULT_WAIT_MS, exactSentinels = false): Promise<void> {
    await waitUntil('sentinels see the whole topology', timeoutMs, async () => {
      const agreed = await this.#agreedMaster();
      if (typeof agreed === 'string') return agreed;
      const live = this.#sentinels.filter(isLive);
      const problems = await Promise.all(
        live.map((sentinel) => this.#topologyProblem(sentinel, agreed, live, exactSentinels)),
      );
      const problem = problems.find((p) => p !== undefined);
      if (problem === undefined) this.#learnMaster(agreed);
      return problem;
    });
  }

  /** Resolves once `node` says `role:master`, or `role:slave` with its replication link up. */
  async waitForRole(
    node: RedisServerHandle,
    role: 'master' | 'replica',
    timeoutMs = this.failoverBudgetMs,
  ): Promise<void> {
    await waitUntil(`port ${node.port} becomes ${role}`, timeoutMs, async () => {
      const info = parseInfo(await node.cli('INFO', 'replication'));
      const seen = info.get('role');
      if (role === 'master') return seen === 'master' ? undefined : `role:${seen}`;
      const link = info.get('master_link_status');
      return seen === 'slave' && link === 'up' ? undefined : `role:${seen} link:${link}`;
    });
  }

  /**
   * `SENTINEL FAILOVER` on a live sentinel (retried while it answers INPROG / NOGOODSLAVE), then
   * waits until the sentinels agree on a new master, every live data node (the old master too)
   * replicates from it, and every live sentinel sees that topology. Resolves with the new master.
   */
  async failover(timeoutMs = this.failoverBudgetMs): Promise<RedisServerHandle> {
    const deadline = Date.now() + timeoutMs;
    const remaining = (): number => Math.max(1, deadline - Date.now());
    const old = await this.currentMaster();
    let attempt = 0;
    await waitUntil('SENTINEL FAILOVER accepted', remaining(), async () => {
      const live = this.#sentinels.filter(isLive);
      const sentinel = live[attempt++ % Math.max(1, live.length)];
      if (!sentinel) return 'no live sentinel';
      const reply = await sentinel.cli('SENTINEL', 'FAILOVER', this.masterName);
      return reply === 'OK' ? undefined : `sentinel ${sentinel.port}: ${reply}`;
    });
    const master = await this.waitForMaster(old, remaining());
    await this.waitForReplicasSynced(remaining());
    await this.waitForTopology(remaining());
    return master;
  }

  /**
   * Starts one more sentinel with a fresh config (new id) monitoring the current master and
   * waits until it and the others know each other and the whole topology.
   */
  async addSentinel(timeoutMs = DEFAULT_WAIT_MS): Promise<RedisSentinelNode> {
    if (this.#disposing) throw new Error('sentinel topology was disposed');
    let master: SentinelAddress = { host: this.#master.host, port: this.#master.port };
    if (this.#sentinels.some(isLive)) master = await this.currentMaster();
    const node = await startSentinelNode(this.#settings, master);
    if (this.#disposing) {
      await node.dispose();
      throw new Error('sentinel topology was disposed while a sentinel was being added');
    }
    this.#sentinels.push(node);
    this.#allSentinels.push(node);
    await this.waitForTopology(timeoutMs);
    return node;
  }

  /**
   * Stops and disposes a sentinel (by index into {@link sentinels} or by handle) and drops it
   * from {@link sentinels}; see {@link RemoveSentinelOptions.reset} for what the others do.
   */
  async removeSentinel(
    which: number | RedisSentinelNode,
    options: RemoveSentinelOptions = {},
  ): Promise<void> {
    const index = typeof which === 'number' ? which : this.#sentinels.indexOf(which);
    const node = this.#sentinels[index];
    if (!node) throw new Error(`no sentinel ${typeof which === 'number' ? which : which.port}`);
    this.#sentinels.splice(index, 1);
    await node.dispose();
    if (options.reset === false) return;
    const live = this.#sentinels.filter(isLive);
    for (const sentinel of live) {
      await jsonCommand(sentinel, 'SENTINEL', 'RESET', this.masterName);
    }
    if (live.length > 0) await this.waitForTopology(options.timeoutMs ?? DEFAULT_WAIT_MS, true);
  }

  /** Kills every sentinel (removed ones included) and data node and removes their temp dirs. */
  dispose(): Promise<void> {
    this.#disposing ??= (async () => {
      // Sentinels first, so none reconfigures a data node while they go down.
      await Promise.all(this.#allSentinels.map((node) => node.dispose()));
      await Promise.all(this.#dataNodes.map((node) => node.dispose()));
    })();
    return this.#disposing;
  }

  #anyLiveSentinel(): RedisSentinelNode {
    const sentinel = this.#sentinels.find(isLive);
    if (!sentinel) throw new Error('no live sentinel to ask');
    return sentinel;
  }

  #learnMaster(address: SentinelAddress): void {
    const node = this.#dataNodes.find(
      (candidate) => candidate.host === address.host && candidate.port === address.port,
    );
    if (node) this.#master = node;
  }

  async #masterAddressOf(sentinel: RedisSentinelNode): Promise<SentinelAddress> {
    const reply = await jsonCommand(
      sentinel,
      'SENTINEL',
      'GET-MASTER-ADDR-BY-NAME',
      this.masterName,
    );
    if (!Array.isArray(reply) || reply.length !== 2) {
      throw new Error(`sentinel ${sentinel.port} knows no master ${this.masterName}`);
    }
    return { host: String(reply[0]), port: Number(reply[1]) };
  }

  /** The master every live sentinel names, or a description of the disagreement. */
  async #agreedMaster(): Promise<SentinelAddress | string> {
    const live = this.#sentinels.filter(isLive);
    if (live.length === 0) return 'no live sentinel';
    const seen = await Promise.all(live.map((sentinel) => this.#masterAddressOf(sentinel)));
    const first = seen[0]!;
    const differs = seen.findIndex((address) => !sameAddress(address, first));
    if (differs >= 0) {
      return `sentinel ${live[0]!.port} names ${formatAddress(first)}, sentinel ${live[differs]!.port} names ${formatAddress(seen[differs]!)}`;
    }
    return first;
  }

  async #topologyProblem(
    sentinel: RedisSentinelNode,
    master: SentinelAddress,
    liveSentinels: RedisSentinelNode[],
    exactSentinels: boolean,
  ): Promise<string | undefined> {
    const name = this.masterName;
    const who = `sentinel ${sentinel.port}`;
    const [masterReply, replicasReply, sentinelsReply] = await Promise.all([
      jsonCommand(sentinel, 'SENTINEL', 'MASTER', name),
      jsonCommand(sentinel, 'SENTINEL', 'REPLICAS', name),
      jsonCommand(sentinel, 'SENTINEL', 'SENTINELS', name),
    ]);
    const state = parseRecord(masterReply);
    if (state.flags !== 'master') return `${who}: master flags ${state.flags}`;

    const replicas = parseRecordList(replicasReply);
    for (const node of this.#dataNodes) {
      if (!isLive(node) || node.port === master.port) continue;
      const entry = replicas.find((r) => r.ip === node.host && Number(r.port) === node.port);
      if (!entry) return `${who}: does not list replica ${node.port}`;
      if (entry.flags !== 'slave') return `${who}: replica ${node.port} flags ${entry.flags}`;
      if (entry['master-link-status'] !== 'ok' || Number(entry['master-port']) !== master.port) {
        return `${who}: replica ${node.port} link ${entry['master-link-status']} to ${entry['master-port']}`;
      }
    }

    const peers = parseRecordList(sentinelsReply);
    const others = liveSentinels.filter((other) => other !== sentinel);
    for (const other of others) {
      const entry = peers.find((p) => p.ip === other.host && Number(p.port) === other.port);
      if (!entry) return `${who}: does not know sentinel ${other.port}`;
      if (entry.flags !== 'sentinel') return `${who}: sentinel ${other.port} flags ${entry.flags}`;
    }
    if (exactSentinels && peers.length !== others.length) {
      return `${who}: knows ${peers.length} other sentinels, expected ${others.length}`;
    }
    return undefined;
  }
}

/**
 * Starts a master, `replicas` replicas of it and `sentinels` `redis-server --sentinel`
 * processes monitoring it, all on free loopback ports, and resolves once every sentinel knows
 * the master, every replica (synced) and every other sentinel. On any failure everything
 * started is disposed.
 */
export async function startRedisSentinel(
  options: RedisSentinelOptions = {},
): Promise<RedisSentinelHandle> {
  const settings = resolveSettings(options);
  const master = await startRedisServer({
    password: settings.password,
    users: dataNodeUsers(settings),
    extraConfig: dataNodeConfig(settings),
  });
  let replicas: RedisServerHandle[] = [];
  let sentinels: RedisSentinelNode[];
  try {
    replicas = await startAll(settings.replicas, () =>
      startRedisServer({
        password: settings.password,
        users: dataNodeUsers(settings),
        extraConfig: dataNodeConfig(settings, master.port),
      }),
    );
    const address = { host: master.host, port: master.port };
    sentinels = await startAll(settings.sentinels, () => startSentinelNode(settings, address));
  } catch (error) {
    await Promise.all([master, ...replicas].map((node) => node.dispose()));
    throw error;
  }
  const topology = new RedisSentinelHandle(settings, master, replicas, sentinels);
  try {
    const deadline = Date.now() + settings.startTimeoutMs;
    await topology.waitForReplicasSynced(settings.startTimeoutMs);
    await topology.waitForTopology(Math.max(1, deadline - Date.now()), true);
    if (topology.master() !== master) throw new Error('the sentinels moved the master at start-up');
    return topology;
  } catch (error) {
    await topology.dispose();
    throw error;
  }
}

/**
 * Jest helper: starts a topology in `beforeAll`, disposes it in `afterAll`, and returns a
 * getter to call from tests and later hooks.
 */
export function useRedisSentinel(options?: RedisSentinelOptions): () => RedisSentinelHandle {
  let handle: RedisSentinelHandle | undefined;
  beforeAll(
    async () => {
      handle = await startRedisSentinel(options);
    },
    (options?.startTimeoutMs ?? DEFAULT_WAIT_MS) + 2 * READY_TIMEOUT_MS,
  );
  afterAll(async () => {
    await handle?.dispose();
    handle = undefined;
  });
  return () => {
    if (!handle) {
      throw new Error('useRedisSentinel: topology is only available inside tests and hooks');
    }
    return handle;
  };
}
