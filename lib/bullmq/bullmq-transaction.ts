import type { IRedisTransaction } from 'bullmq';
import type { Connection } from '../connection/connection';
import { LeasedClient } from '../client/leased-client';
import type { RedisService } from '../client/redis.service';
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
 * are queued client-side and sent by `exec()`, which resolves ioredis-shaped `[error, value]` pairs.
 *
 * - A transaction runs on a connection leased for it (on a cluster, on the master serving the batch's slot:
 *   BullMQ's keys share the queue's `{hash tag}`), so it counts against `maxLeases` while it runs.
 * - A pipeline runs on the shared path, all its commands in one write on one connection, and takes no lease.
 * - Lua scripts queued with `runCommand` are sent as EVALSHA, preceded by a SCRIPT LOAD of each distinct script,
 *   so no NOSCRIPT can fail a command halfway through a transaction (after a SCRIPT FLUSH or a restart).
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
   * reject with `BullMqConnectionClosedError` (a pipeline's are in place, per command).
   */
  async exec(): Promise<TransactionResult[] | null> {
    const commands = this.queued.splice(0);
    const closed = this.host.closedError();
    if (closed !== undefined) throw closed;
    if (commands.length === 0) return [];
    if (!this.atomic) return this.pipelined(commands);
    try {
      const pool = this.host.redis.pool;
      const key = pool.routingKey?.(commands);
      const replies = await pool.withConnection((c) => this.transactOn(c, commands), key);
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

  /** MULTI ... EXEC on a leased connection, after a SCRIPT LOAD of each distinct script of the batch. */
  private async transactOn(
    connection: Connection,
    commands: QueuedCommand[],
  ): Promise<unknown[] | null> {
    const loads = distinctScripts(commands).map((lua) =>
      connection.executeCommand('SCRIPT', 'LOAD', lua),
    );
    const multi = new LeasedClient(connection).multi();
    for (const { command, args } of commands) multi.executeCommand(command, ...args);
    const [results] = await Promise.all([multi.exec(), ...loads]);
    return results;
  }

  /**
   * A pipeline on the shared path: every command issued in this one turn, so they leave in one write on one
   * connection and run in order (after a SCRIPT LOAD of each distinct script), with no lease taken: blocked
   * Workers holding every lease never hold a pipeline up. On a cluster each command goes to its slot's master
   * (scripts falling back to EVAL on NOSCRIPT there).
   */
  private pipelined(commands: QueuedCommand[]): Promise<TransactionResult[]> {
    const { redis } = this.host;
    if (redis.pool.masterPools === undefined) {
      for (const lua of distinctScripts(commands)) {
        // A failed load shows in the results of the script's commands.
        redis.executeCommand('SCRIPT', 'LOAD', lua).catch(() => undefined);
      }
    }
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

/** The Lua source of each distinct script among `commands`. */
function distinctScripts(commands: readonly QueuedCommand[]): string[] {
  const scripts = new Map<string, string>();
  for (const { script } of commands) if (script !== undefined) scripts.set(script.sha1, script.lua);
  return [...scripts.values()];
}

function settle(command: QueuedCommand, reply: unknown): TransactionResult {
  if (reply instanceof Error) return [reply, null];
  return [null, command.shape(reply as RedisReply)];
}
