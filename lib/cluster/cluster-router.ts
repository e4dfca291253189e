import { READ_ONLY_FLAG, commandFlags } from '../connection/command-policy';
import {
  ClusterError,
  ConnectionError,
  PoolClosedError,
  ResponseError,
  TimeoutError,
} from '../errors/redis-pool.errors';
import { backoffDelay } from '../pool/backoff';
import type { CommandOptions } from '../pool/redis-pool.interface';
import { commandName } from '../protocol/resp-encoder';
import type { RedisArgument, RedisReply } from '../protocol/resp.types';
import type { ClusterContext } from './cluster-context';
import type { ClusterMap, ClusterNode } from './cluster-map';
import type { ClusterRefresher } from './cluster-refresher';
import type { CommandKeyTable } from './command-keys';
import { ANY_SLOT, commandSlot } from './command-slot';
import { runFanOut, type FanOutHost } from './fan-out';
import { keySlot } from './hash-slot';
import { publishRedirection } from '../observability/channels';
import { parseRedirection } from './redirection';

/** TRYAGAIN or CLUSTERDOWN: the cluster's own "not now", retried with backoff within the deadline. */
function isClusterBusy(error: unknown): error is ResponseError {
  return (
    error instanceof ResponseError && (error.code === 'TRYAGAIN' || error.code === 'CLUSTERDOWN')
  );
}

/** Retries of cluster-wide transient failures (failover, CLUSTERDOWN, TRYAGAIN) when a call has no deadline. */
const MAX_TRANSIENT_ATTEMPTS = 30;

/** One command on its way through the cluster. */
interface RoutedCall {
  command: string;
  args: readonly RedisArgument[];
  options: CommandOptions | undefined;
  slot: number;
  readOnly: boolean;
  deadline: number;
}

/**
 * Sends each command to the node serving its keys' slot, and recovers when that was the wrong one: MOVED
 * patches the slot, asks for a refresh and retries on the new owner; ASK retries once on the target after
 * ASKING; TRYAGAIN, CLUSTERDOWN and unreachable masters are retried with backoff, all within the command's one
 * deadline. Keyless commands marked for every shard or node are fanned out and their replies combined.
 */
export class ClusterRouter {
  /** Wakers of retries waiting out a backoff, so that `stop()` ends the wait and no timer outlives the pool. */
  private readonly sleepers = new Set<() => void>();

  constructor(
    private readonly context: ClusterContext,
    private readonly refresher: ClusterRefresher,
  ) {}

  /** Runs one command where its keys live, following redirections; `table` is the server's command table. */
  execute<T>(
    table: CommandKeyTable,
    command: string,
    args: readonly RedisArgument[],
    options: CommandOptions | undefined,
  ): Promise<T> {
    let slot: number;
    try {
      slot = commandSlot(table, command, args);
    } catch (error) {
      return Promise.reject(error);
    }
    if (slot === ANY_SLOT) {
      const tips = table.tips(command, args);
      if (tips.requestPolicy === 'all_shards' || tips.requestPolicy === 'all_nodes') {
        return this.fanOut(
          command,
          args,
          options,
          tips.requestPolicy,
          tips.responsePolicy,
        ) as Promise<T>;
      }
    }
    const { config } = this.context;
    const timeoutMs = options?.timeoutMs ?? config.commandTimeoutMs;
    const call: RoutedCall = {
      command,
      args,
      options,
      slot,
      readOnly:
        config.readFrom !== 'master' && (commandFlags(commandName(command)) & READ_ONLY_FLAG) !== 0,
      deadline: timeoutMs > 0 ? Date.now() + timeoutMs : Infinity,
    };
    let node: ClusterNode | undefined;
    try {
      node = this.target(call);
    } catch (error) {
      return Promise.reject(error);
    }
    if (node === undefined) {
      return this.recover(new NoNodeError(noNode(slot, this.context.map)), call, null);
    }
    return node.pool
      .execute<T>(command, args, options)
      .catch((error: unknown) => this.recover<T>(error, call, node));
  }

  /** The master serving `key`'s slot (any master without a key), after one refresh when none is known. */
  async masterFor(key: RedisArgument | undefined): Promise<ClusterNode> {
    const { map } = this.context;
    const slot = key === undefined ? ANY_SLOT : keySlot(key);
    let node = slot === ANY_SLOT ? map.anyMaster() : map.owner(slot, false);
    if (node === undefined) {
      await this.refresher.refresh();
      node = slot === ANY_SLOT ? map.anyMaster() : map.owner(slot, false);
      if (node === undefined) throw new NoNodeError(noNode(slot, this.context.map));
    }
    return node;
  }

  /**
   * Reads a MOVED/ASK reply that `from` gave a leased connection: MOVED patches the slot and asks for a refresh,
   * as for a routed command; ASK leaves the map alone. The node to go to.
   * @throws ClusterError for a malformed redirection.
   */
  follow(error: ResponseError, from: ClusterNode): { kind: 'MOVED' | 'ASK'; node: ClusterNode } {
    const { map } = this.context;
    const redirection = parseRedirection(error, from.address.host);
    publishRedirection(redirection, from.address);
    const node = map.node(this.context.config.addresses.resolve(redirection.to, redirection.kind));
    if (redirection.kind === 'MOVED') {
      map.move(redirection.slot, node);
      this.refresher.requestRefresh();
    }
    return { kind: redirection.kind, node };
  }

  /** Ends every backoff wait now, for `disconnect()`: the waiting calls then fail as closed. */
  stop(): void {
    for (const wake of this.sleepers) wake();
  }

  /**
   * Where a call goes now; `undefined` while no node can take it (unknown slot, stalled master).
   * @throws ClusterError with `readFrom: 'replica'` when the slot's shard has no healthy replica.
   */
  private target(call: RoutedCall): ClusterNode | undefined {
    const { config, map } = this.context;
    if (call.slot === ANY_SLOT) return map.anyMaster();
    if (!call.readOnly || config.readFrom !== 'replica') return map.owner(call.slot, call.readOnly);
    const replica = map.replicaOf(call.slot);
    if (replica === null) {
      throw new ClusterError(
        `No healthy replica serves slot ${call.slot} for ${commandName(call.command)} (readFrom: 'replica')`,
      );
    }
    return replica;
  }

  /**
   * The slow path after a failed attempt: follows MOVED and ASK, waits out failovers and CLUSTERDOWN, and
   * retries, all within the call's deadline; anything else is the caller's error.
   */
  private async recover<T>(first: unknown, call: RoutedCall, from: ClusterNode | null): Promise<T> {
    const { config, map } = this.context;
    let error = first;
    let node = from;
    let redirections = 0;
    let transient = 0;
    for (;;) {
      let ask: ClusterNode | undefined;
      if (error instanceof ResponseError && (error.code === 'MOVED' || error.code === 'ASK')) {
        if (++redirections > config.maxRedirections) {
          throw new ClusterError(
            `Too many cluster redirections (${config.maxRedirections}) for ${commandName(call.command)}; the last was ${error.code}`,
            { cause: error },
          );
        }
        const redirection = parseRedirection(error, node?.address.host ?? '');
        publishRedirection(redirection, node?.address);
        const to = map.node(config.addresses.resolve(redirection.to, redirection.kind));
        if (redirection.kind === 'MOVED') {
          map.move(redirection.slot, to);
          this.refresher.requestRefresh();
        } else {
          ask = to;
        }
      } else if (this.isTransient(error, call)) {
        transient++;
        if (call.deadline === Infinity && transient > MAX_TRANSIENT_ATTEMPTS) throw error;
        this.refresher.requestRefresh();
        const { baseDelayMs, maxDelayMs } = config.backoff;
        const wait = Math.max(baseDelayMs, backoffDelay(transient, baseDelayMs * 2, maxDelayMs));
        if (Date.now() + wait >= call.deadline) throw error;
        await this.sleep(wait);
        if (this.context.isClosed()) throw this.context.closedError();
      } else {
        throw error;
      }
      const remaining = call.deadline - Date.now();
      // A backoff that overslept the deadline (a busy event loop) still reports the cluster's own answer.
      if (remaining <= 0 && isClusterBusy(error)) throw error;
      if (remaining <= 0) {
        throw new TimeoutError(
          `${commandName(call.command)} timed out while the cluster redirected it`,
          { cause: error },
        );
      }
      node = ask ?? this.target(call) ?? null;
      if (node === null) {
        error = new NoNodeError(noNode(call.slot, map));
        continue;
      }
      const options: CommandOptions = { ...call.options, timeoutMs: remaining };
      try {
        return ask !== undefined
          ? await this.askOn<T>(ask, call, remaining)
          : await node.pool.execute<T>(call.command, call.args, options);
      } catch (next) {
        error = next;
      }
    }
  }

  /** Failures that a moment and a fresh topology cure, when sending again cannot run the command twice. */
  private isTransient(error: unknown, call: RoutedCall): boolean {
    if (this.context.isClosed()) return false;
    if (error instanceof ResponseError) return isClusterBusy(error);
    if (error instanceof NoNodeError) return true;
    // A node's pool closed because a refresh dropped it: the command never reached it.
    if (error instanceof PoolClosedError) return true;
    // No connection could be made in time (a frozen node accepts TCP but never answers the handshake).
    if (error instanceof TimeoutError && !error.commandMayHaveRun) return true;
    if (error instanceof ConnectionError) {
      const retryable =
        call.options?.retryable === true ||
        (commandFlags(commandName(call.command)) & READ_ONLY_FLAG) !== 0;
      return !error.commandMayHaveRun || retryable;
    }
    return false;
  }

  /** ASKING then the command, pipelined on one leased connection of the importing node. */
  private async askOn<T>(node: ClusterNode, call: RoutedCall, timeoutMs: number): Promise<T> {
    return node.pool.withConnection(async (connection) => {
      const asking = connection.executeWith('ASKING', [], false, timeoutMs);
      const reply = connection.executeWith<T>(
        call.command,
        call.args,
        call.options?.buffers ?? false,
        timeoutMs,
      );
      reply.catch(() => undefined);
      await asking;
      return reply;
    });
  }

  /** A keyless command every shard (or node) must run, its replies combined by its response policy. */
  private fanOut(
    command: string,
    args: readonly RedisArgument[],
    options: CommandOptions | undefined,
    requestPolicy: 'all_shards' | 'all_nodes',
    responsePolicy: string | undefined,
  ): Promise<RedisReply> {
    const host: FanOutHost = {
      context: this.context,
      requestRefresh: () => this.refresher.requestRefresh(),
      sleep: (ms) => this.sleep(ms),
    };
    return runFanOut(host, command, args, options, requestPolicy, responsePolicy);
  }

  /** Waits `ms`, or less when `stop()` is called meanwhile. */
  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = (): void => {
        clearTimeout(timer);
        this.sleepers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.sleepers.add(wake);
    });
  }
}

/** No node is known for a slot (yet): a refresh may well find one. */
class NoNodeError extends ClusterError {}

function noNode(slot: number, map: ClusterMap): string {
  if (slot === ANY_SLOT) return 'No node of the cluster is known';
  const master = map.masterOf(slot);
  return master?.stalled === true
    ? `The master of slot ${slot} (${master.key}) is not answering, and no successor is known yet`
    : `No node serves slot ${slot}`;
}
