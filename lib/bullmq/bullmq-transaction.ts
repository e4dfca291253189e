import type { IRedisTransaction } from 'bullmq';
import type { Connection } from '../connection/connection';
import { LeasedClient } from '../client/leased-client';
import type { RedisService } from '../client/redis.service';
import { ClusterError } from '../errors/redis-pool.errors';
import type { RedisArgument, RedisReply } from '../protocol/resp.types';
import { toBullMqError } from './bullmq.errors';
import { hashFields, scanArguments } from './command-arguments';
import { record, scanPage, texts } from './reply-shapes';
import { evalShaArguments, type DefinedScript, type ScriptRegistry } from './script-registry';

/** One result of `exec()`, as ioredis gives it: `[error, null]` or `[null, value]`. */
export type TransactionResult = [error: Error | null, value: unknown];

/** What a transaction needs from the client that made it. */
export interface TransactionHost {
  readonly redis: RedisService;
  readonly scripts: ScriptRegistry;
  /** Why the client takes no commands (it was closed), or `undefined`. */
  closedError(): Error | undefined;
  /** EVALSHA with these arguments through the client's own path (EVAL on NOSCRIPT), for routed pipelines. */
  runScript(script: DefinedScript, args: readonly RedisArgument[]): Promise<unknown>;
}

interface QueuedCommand {
  command: string;
  args: RedisArgument[];
  shape: (reply: RedisReply) => unknown;
  script?: DefinedScript;
}

function same(reply: RedisReply): unknown {
  return reply;
}

function count(reply: RedisReply): unknown {
  return Number(reply);
}

/**
 * BullMQ's `IRedisTransaction`: `multi()` (MULTI/EXEC, atomic) or `pipeline()` (in order, not atomic). Commands
 * are queued client-side; `exec()` runs them on one connection leased for the batch (on a cluster, on the master
 * serving the batch's slot: BullMQ's keys share the queue's `{hash tag}`), and resolves ioredis-shaped
 * `[error, value]` pairs. Lua scripts queued with `runCommand` are sent as EVALSHA, preceded on that connection by
 * a SCRIPT LOAD of each distinct script, so no NOSCRIPT can fail a command halfway through a transaction (after a
 * SCRIPT FLUSH or a restart). A cluster pipeline whose keys span slots (not a transaction) sends each command
 * through the pool's routing instead.
 */
export class BullMqTransaction implements IRedisTransaction {
  private readonly queued: QueuedCommand[] = [];

  /** @internal Made by `BullMqClient.multi()` and `pipeline()`. */
  constructor(
    private readonly host: TransactionHost,
    private readonly atomic: boolean,
  ) {}

  /** Commands queued and not yet sent. */
  get length(): number {
    return this.queued.length;
  }

  hgetall(key: string): this {
    return this.add('HGETALL', [key], record);
  }

  hset(key: string, data: Record<string, string | number>): this {
    return this.add('HSET', [key, ...hashFields(data, [])], count);
  }

  hscan(key: string, cursor: string | number, options?: { COUNT?: number }): this {
    return this.add('HSCAN', scanArguments(key, cursor, options), scanPage);
  }

  smembers(key: string): this {
    return this.add('SMEMBERS', [key], texts);
  }

  sscan(key: string, cursor: string | number, options?: { COUNT?: number }): this {
    return this.add('SSCAN', scanArguments(key, cursor, options), scanPage);
  }

  zrange(key: string, start: number, end: number): this {
    return this.add('ZRANGE', [key, start, end], texts);
  }

  lrange(key: string, start: number, end: number): this {
    return this.add('LRANGE', [key, start, end], texts);
  }

  llen(key: string): this {
    return this.add('LLEN', [key], count);
  }

  /** DEL; with no keys nothing is queued (and `exec()` has no result for it), as BullMQ expects. */
  del(...keys: string[]): this {
    if (keys.length === 0) return this;
    return this.add('DEL', keys, count);
  }

  /**
   * A script registered with the client's `defineCommand()`, as EVALSHA.
   * @throws UnknownScriptError at once for a name never defined.
   */
  runCommand(name: string, args: unknown[]): this {
    const script = this.host.scripts.get(name);
    this.queued.push({
      command: 'EVALSHA',
      args: evalShaArguments(script, args),
      shape: same,
      script,
    });
    return this;
  }

  /**
   * Sends the queued commands and resolves one `[error, value]` per command, in order. A transaction rejects as a
   * whole when the server refused to queue one of its commands (EXECABORT; then none ran). Connection failures
   * reject with `BullMqConnectionClosedError`.
   */
  async exec(): Promise<TransactionResult[] | null> {
    const commands = this.queued.splice(0);
    const closed = this.host.closedError();
    if (closed !== undefined) throw closed;
    if (commands.length === 0) return [];
    try {
      const pool = this.host.redis.pool;
      let key: RedisArgument | undefined;
      try {
        key = pool.routingKey?.(commands);
      } catch (error) {
        if (this.atomic || !(error instanceof ClusterError)) throw error;
        return await this.routed(commands);
      }
      const replies = await pool.withConnection((c) => this.sendOn(c, commands), key);
      if (replies === null) return null;
      return commands.map((command, i) => settle(command, replies[i]));
    } catch (error) {
      throw toBullMqError(error);
    }
  }

  private add(command: string, args: RedisArgument[], shape: QueuedCommand['shape']): this {
    this.queued.push({ command, args, shape });
    return this;
  }

  /** Loads the batch's scripts, then runs it, on one leased connection. */
  private async sendOn(
    connection: Connection,
    commands: QueuedCommand[],
  ): Promise<unknown[] | null> {
    const scripts = new Map<string, string>();
    for (const { script } of commands)
      if (script !== undefined) scripts.set(script.sha1, script.lua);
    const loads = [...scripts.values()].map((lua) =>
      connection.executeCommand('SCRIPT', 'LOAD', lua),
    );
    const client = new LeasedClient(connection);
    const batch = this.atomic ? client.multi() : client.pipeline();
    for (const { command, args } of commands) batch.executeCommand(command, ...args);
    const [results] = await Promise.all([batch.exec(), ...loads]);
    return results;
  }

  /** A cross-slot pipeline on a cluster: each command through the pool's routing, results in order. */
  private routed(commands: QueuedCommand[]): Promise<TransactionResult[]> {
    const { redis } = this.host;
    return Promise.all(
      commands.map((command) =>
        (command.script !== undefined
          ? this.host.runScript(command.script, command.args)
          : redis.executeCommand(command.command, ...command.args)
        ).then(
          (reply) => settle(command, reply),
          (error: unknown) => [toBullMqError(error) as Error, null] as TransactionResult,
        ),
      ),
    );
  }
}

function settle(command: QueuedCommand, reply: unknown): TransactionResult {
  if (reply instanceof Error) return [reply, null];
  return [null, command.shape(reply as RedisReply)];
}
