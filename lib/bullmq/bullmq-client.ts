import type { Readable } from 'node:stream';
import type { IRedisClient } from 'bullmq';
import type { Connection } from '../connection/connection';
import { RedisService } from '../client/redis.service';
import { CommandNotAllowedError } from '../errors/redis-pool.errors';
import type { RedisPool } from '../pool/redis-pool.interface';
import type { RedisArgument, RedisReply } from '../protocol/resp.types';
import {
  BullMqConnectionClosedError,
  isNoScript,
  rejectAsBullMq,
  toBullMqError,
} from './bullmq.errors';
import {
  resolveBullMqClientOptions,
  type BullMqClientOptions,
  type ResolvedBullMqClientOptions,
} from './bullmq-client.options';
import { BullMqCommands } from './bullmq-commands';
import { BullMqTransaction, type TransactionHost } from './bullmq-transaction';
import { LeaseBinding } from './lease-binding';
import { scanStream, type ScanStreamOptions } from './scan-stream';
import {
  evalArguments,
  evalShaArguments,
  ScriptRegistry,
  type DefinedScript,
  type ScriptDefinition,
} from './script-registry';

/** What `duplicate()` reads from its argument (BullMQ passes `{ connectionName }`); the rest is ignored. */
export interface BullMqDuplicateOptions {
  /** Set with CLIENT SETNAME on the duplicate's lease (BullMQ names Worker connections so `getWorkers()` works). */
  connectionName?: string;
}

/**
 * BullMQ 6's `IRedisClient` over a `RedisService`, so Queues, Workers, QueueEvents and FlowProducers run on the
 * app's one pool (`ConnectionPool`, `ClusterPool` or `SentinelPool`) instead of Redis clients of their own:
 *
 * ```ts
 * const connection = new BullMqClient(redis);
 * const queue = new Queue('mail', { connection });
 * const worker = new Worker('mail', async (job) => send(job.data), { connection });
 * ```
 *
 * - Commands and Lua scripts (`runCommand`: EVALSHA, EVAL when the server answers NOSCRIPT) run on the pool's
 *   shared, multiplexed connections; `multi()`/`pipeline()` on a connection leased for the batch.
 * - `duplicate()` (where BullMQ gets the blocking connection of every Worker and QueueEvents) returns a client
 *   bound to an exclusive lease of the pool for its blocking commands (BZPOPMIN, XREAD BLOCK): taken on
 *   `connect()`, named with its `connectionName`, given back on `quit()`/`disconnect()`, taken again after a
 *   connection loss (`reconnecting`, then `ready`). Its other commands stay on the shared path. Leases count
 *   against the pool's `maxLeases`, never against the shared connections.
 * - `quit()`/`disconnect()` of the base client end this client only (its status becomes `end`); the pool, which
 *   the app owns, is never closed by it.
 * - Connection failures reject with `BullMqConnectionClosedError`, which BullMQ retries quietly; error replies and
 *   timeouts reject with the pool's own typed errors.
 * - On a `ClusterPool`, `isCluster` is `true` and every queue needs a `{hash tag}` prefix (`prefix: '{bull}'`),
 *   so that each queue's keys share one slot as BullMQ's scripts and transactions require.
 */
export class BullMqClient extends BullMqCommands implements IRedisClient {
  /** Whether the pool is a cluster (it routes by key). */
  readonly isCluster: boolean;
  /**
   * What BullMQ reads of a client's options (`maxRetriesPerRequest: null`, `connectionName`); nothing of the
   * pool's (no address, no credentials).
   */
  options: Record<string, unknown>;
  private readonly settings: ResolvedBullMqClientOptions;
  private readonly scripts = new ScriptRegistry();
  private readonly transactionHost: TransactionHost;
  /** Present on a `duplicate()`: the lease its blocking commands run on. */
  private binding: LeaseBinding | null = null;
  private ended = false;
  /** Blocking calls of the base client in flight, each on a lease of its own, interrupted by `disconnect()`. */
  private readonly blockingLeases = new Set<Connection>();
  private nodeClients: BullMqClient[] = [];
  private readonly nodeCache = new WeakMap<RedisPool, BullMqClient>();

  constructor(
    /** The service (and through it the pool) every command runs on. */
    readonly redis: RedisService,
    options: BullMqClientOptions = {},
  ) {
    super();
    this.settings = resolveBullMqClientOptions(options);
    this.isCluster = redis.pool.masterPools !== undefined;
    this.options = this.isCluster
      ? { maxRetriesPerRequest: null, redisOptions: { maxRetriesPerRequest: null } }
      : { maxRetriesPerRequest: null };
    this.transactionHost = {
      redis,
      scripts: this.scripts,
      closedError: () => this.closedError(),
      runScript: (script, args) => this.evalSha(script, args),
    };
    if (this.isCluster) this.refreshNodes();
    this.announceReady();
  }

  /**
   * `ready` while usable, `end` after `quit()`/`disconnect()` (or once the pool is closed). A duplicate starts at
   * `wait` and goes through `connecting`, and `reconnecting` while its lease is taken again.
   */
  get status(): string {
    if (this.binding !== null) return this.binding.status;
    return this.ended || this.redis.pool.closed ? 'end' : 'ready';
  }

  /** BullMQ sets `end` after closing a client it owns; any other value is ignored. */
  set status(value: string) {
    if (value !== 'end' || this.status === 'end') return;
    if (this.binding !== null) this.binding.quit();
    else this.ended = true;
  }

  /**
   * Makes the client usable (again, after `quit()`/`disconnect()`). The base client needs no connection of its
   * own (the pool connects on demand); a duplicate resolves once its lease is taken (see `LeaseBinding`).
   */
  connect(): Promise<void> {
    if (this.binding !== null) return this.binding.connect();
    if (this.redis.pool.closed) return Promise.reject(new BullMqConnectionClosedError());
    if (this.ended) {
      this.ended = false;
      this.emit('ready');
    }
    return Promise.resolve();
  }

  /**
   * Ends this client at once (`close`, then `end`; with `reconnect`, `reconnecting` and a new `connect()`).
   * Blocking commands in flight are interrupted and resolve `null`. The pool stays open.
   */
  disconnect(reconnect = false): void {
    if (this.binding !== null) return this.binding.disconnect(reconnect);
    this.ended = true;
    this.interruptBlocking();
    this.emit('close');
    if (reconnect) {
      this.emit('reconnecting');
      void this.connect().catch(() => undefined);
    } else {
      this.emit('end');
    }
  }

  /** Ends this client (`end` and `close` follow on the next turn) and resolves `'OK'`; the pool stays open. */
  quit(): Promise<string> {
    if (this.binding !== null) {
      this.binding.quit();
      return Promise.resolve('OK');
    }
    this.ended = true;
    this.interruptBlocking();
    setImmediate(() => {
      this.emit('end');
      this.emit('close');
    });
    return Promise.resolve('OK');
  }

  /**
   * A client on the same service whose blocking commands run on an exclusive lease of its own (see the class
   * description), with every script defined so far. Its status is `wait` until `connect()`.
   */
  duplicate(options?: BullMqDuplicateOptions): BullMqClient {
    const copy = new BullMqClient(this.redis, this.settings);
    const name = options?.connectionName;
    copy.binding = new LeaseBinding(
      this.redis.pool,
      copy,
      this.settings,
      typeof name === 'string' && name.length > 0 ? name : undefined,
    );
    if (copy.binding.connectionName !== undefined) {
      copy.options = { ...copy.options, connectionName: copy.binding.connectionName };
    }
    for (const scriptName of this.scripts.names()) {
      const { lua, numberOfKeys } = this.scripts.get(scriptName);
      copy.defineCommand(scriptName, { lua, numberOfKeys });
    }
    return copy;
  }

  /**
   * Registers a Lua script under `name` for `runCommand(name, args)`, and as a method `client[name](args)` as
   * ioredis does (unless `name` is already a member of the client). Nothing is sent: the first call loads it.
   */
  defineCommand(name: string, definition: ScriptDefinition): void {
    this.scripts.define(name, definition);
    if (name in this && !Object.prototype.hasOwnProperty.call(this, name)) return;
    Object.defineProperty(this, name, {
      value: (...args: unknown[]) => this.runCommand(name, args),
      configurable: true,
      writable: true,
      enumerable: false,
    });
  }

  /**
   * Runs a script from `defineCommand()` with `args` (its keys first, then its arguments; `undefined`/`null` sent
   * as `''`): EVALSHA on the shared path, EVAL (which loads it) when the server answers NOSCRIPT.
   */
  runCommand(name: string, args: unknown[]): Promise<unknown> {
    let script: DefinedScript;
    try {
      script = this.scripts.get(name);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.evalSha(script, evalShaArguments(script, args));
  }

  /** A MULTI/EXEC transaction (see `BullMqTransaction`). */
  multi(): BullMqTransaction {
    return new BullMqTransaction(this.transactionHost, true);
  }

  /** A pipeline: in order on one connection, not atomic (see `BullMqTransaction`). */
  pipeline(): BullMqTransaction {
    return new BullMqTransaction(this.transactionHost, false);
  }

  /** SCAN pages (`string[]`) of keys matching `match` as an object-mode stream; every master on a cluster. */
  scanStream(options: ScanStreamOptions): Readable {
    return scanStream(this.redis.pool, options);
  }

  /**
   * On a cluster, a client per master (for `CLIENT LIST` on each, as BullMQ's `getWorkers()` does); the list
   * is refreshed in the background on each call. Elsewhere, this client alone.
   */
  nodes(): BullMqClient[] {
    if (!this.isCluster) return [this];
    this.refreshNodes();
    return this.nodeClients.length > 0 ? this.nodeClients : [this];
  }

  protected send(command: string, args: RedisArgument[]): Promise<RedisReply> {
    const closed = this.closedError();
    if (closed !== undefined) return Promise.reject(closed);
    return this.redis.executeCommand<RedisReply>(command, ...args).catch(rejectAsBullMq);
  }

  protected sendBlocking(command: string, args: RedisArgument[], key: string): Promise<RedisReply> {
    if (this.binding !== null) return this.binding.blocking(command, args, key);
    const closed = this.closedError();
    if (closed !== undefined) return Promise.reject(closed);
    return this.blockOnce(command, args, key);
  }

  protected sendOwn(command: string, args: RedisArgument[]): Promise<RedisReply> {
    if (this.binding !== null) {
      return this.binding.own(command, args, () => this.send(command, args));
    }
    if (String(args[0]).toUpperCase() === 'SETNAME') {
      return Promise.reject(
        new CommandNotAllowedError(
          'CLIENT SETNAME names one connection, and the base BullMqClient has none of its own: call it on a duplicate() (BullMQ does), or name every pool connection with the clientName option',
        ),
      );
    }
    return this.send(command, args);
  }

  private closedError(): Error | undefined {
    if (this.binding !== null) return this.binding.closedError();
    return this.ended ? new BullMqConnectionClosedError() : undefined;
  }

  private evalSha(script: DefinedScript, args: readonly RedisArgument[]): Promise<unknown> {
    const closed = this.closedError();
    if (closed !== undefined) return Promise.reject(closed);
    return this.redis.executeCommand('EVALSHA', ...args).then(undefined, (error: unknown) => {
      if (!isNoScript(error)) throw toBullMqError(error);
      return this.redis
        .executeCommand('EVAL', ...evalArguments(script, args))
        .catch(rejectAsBullMq);
    });
  }

  /** A blocking command of the base client: on a lease for this call alone (on the key's master). */
  private async blockOnce(
    command: string,
    args: RedisArgument[],
    key: string,
  ): Promise<RedisReply> {
    const pool = this.redis.pool;
    let connection: Connection;
    try {
      connection = await pool.getConnection(key);
    } catch (error) {
      throw toBullMqError(error);
    }
    this.blockingLeases.add(connection);
    try {
      return await connection.executeCommand<RedisReply>(command, ...args);
    } catch (error) {
      if (this.ended) return null;
      throw toBullMqError(error);
    } finally {
      this.blockingLeases.delete(connection);
      pool.release(connection);
    }
  }

  /**
   * Emits `ready` once the pool answered a PING, as ioredis and node-redis clients do after they connected
   * (callers wait for it); a failure is emitted as `error` when anyone listens. Duplicates announce their lease.
   */
  private announceReady(): void {
    // A duplicate gets its binding right after construction: look once that is done.
    queueMicrotask(() => {
      if (this.binding !== null || this.redis.pool.closed) return;
      this.redis.executeCommand('PING').then(
        () => {
          if (!this.ended) this.emit('ready');
        },
        (error: unknown) => {
          if (this.listenerCount('error') > 0) this.emit('error', toBullMqError(error));
        },
      );
    });
  }

  private interruptBlocking(): void {
    for (const connection of this.blockingLeases) connection.destroy();
  }

  private refreshNodes(): void {
    const masters = this.redis.pool.masterPools?.();
    if (masters === undefined) return;
    masters.then(
      (pools) => {
        this.nodeClients = pools.map((pool) => {
          let client = this.nodeCache.get(pool);
          if (client === undefined) {
            client = new BullMqClient(new RedisService(pool));
            this.nodeCache.set(pool, client);
          }
          return client;
        });
      },
      () => undefined,
    );
  }
}
