import type { Connection } from '../connection/connection';
import {
  ClusterError,
  ClusterLeaseMovedError,
  ResponseError,
  TimeoutError,
} from '../errors/redis-pool.errors';
import { commandName } from '../protocol/command-name';
import type { RedisArgument } from '../protocol/resp.types';
import type { ClusterNode } from './cluster-map';

/** What a redirected lease needs from its cluster pool. */
export interface LeaseHost {
  /** The master serving `key`'s slot (any master without a key). */
  masterFor(key: RedisArgument | undefined): Promise<ClusterNode>;
  /** Reads a MOVED/ASK reply got on `from`: MOVED patches the map; the node to go to. */
  follow(error: ResponseError, from: ClusterNode): { kind: 'MOVED' | 'ASK'; node: ClusterNode };
  /** Leases on a node's pool, recorded so that `release()` gives it back there. */
  lease(node: ClusterNode): Promise<Connection>;
  release(connection: Connection): void;
  readonly maxRedirections: number;
  /** The pool's `commandTimeoutMs`: how long re-runs may go on. */
  readonly timeoutMs: number;
}

/**
 * Commands whose success changes nothing a re-run would repeat: a transaction's brackets, WATCH, ASKING. Their
 * replies, and the `QUEUED` of commands sent inside MULTI, do not count as work done.
 */
const NEUTRAL = new Set(['MULTI', 'WATCH', 'UNWATCH', 'DISCARD', 'ASKING', 'PING']);

function isRedirection(error: unknown): error is ResponseError {
  return error instanceof ResponseError && (error.code === 'MOVED' || error.code === 'ASK');
}

/**
 * Watches the commands a callback runs on a leased connection, by standing in for its `executeWith` for the
 * lease's duration: whether any was redirected (MOVED/ASK), and whether any did something a re-run would do
 * twice. On a lease opened after ASK it sends ASKING before each command (once before MULTI: the flag then lasts
 * until EXEC).
 */
class LeaseWatch {
  redirection: ResponseError | undefined;
  effective = 0;
  private readonly outstanding = new Set<Promise<unknown>>();

  constructor(
    private readonly connection: Connection,
    asking: boolean,
  ) {
    const original = connection.executeWith;
    const watch = (reply: Promise<unknown>, name: string, inMulti: boolean): void => {
      const settled = reply.then(
        (value) => {
          if (!NEUTRAL.has(name) && !(inMulti && value === 'QUEUED')) this.effective++;
        },
        (error: unknown) => {
          if (isRedirection(error)) this.redirection ??= error;
          else if (!(error instanceof ResponseError && error.code === 'EXECABORT')) {
            this.effective++;
          }
        },
      );
      this.outstanding.add(settled);
      void settled.then(() => this.outstanding.delete(settled));
    };
    connection.executeWith = function <T>(
      this: Connection,
      command: string,
      args: readonly RedisArgument[],
      buffers: boolean,
      timeoutMs?: number,
      signal?: AbortSignal,
    ): Promise<T> {
      const name = commandName(command);
      const inMulti = this.lease.inMulti;
      if (asking && name !== 'ASKING' && !inMulti) {
        original.call(this, 'ASKING', [], false, timeoutMs).catch(() => undefined);
      }
      const reply = original.call(this, command, args, buffers, timeoutMs, signal) as Promise<T>;
      watch(reply, name, inMulti);
      return reply;
    };
  }

  /** Waits for the replies still outstanding (each bounded by its own deadline). */
  async settled(): Promise<void> {
    while (this.outstanding.size > 0) await Promise.all([...this.outstanding]);
  }

  /** Puts the connection's own `executeWith` back. */
  uninstall(): void {
    delete (this.connection as Partial<Pick<Connection, 'executeWith'>>).executeWith;
  }
}

/** Whether `fn` failed because of a redirection: the MOVED/ASK itself, or EXECABORT after one inside MULTI. */
function failedByRedirection(error: unknown, watch: LeaseWatch): boolean {
  if (watch.redirection === undefined) return false;
  return isRedirection(error) || (error instanceof ResponseError && error.code === 'EXECABORT');
}

/**
 * Runs `fn` on a connection leased on the master of `key`'s slot. When the slot moved meanwhile (a MOVED or ASK
 * reply to one of its commands made it fail) and nothing it sent took effect — MULTI queued nothing, the blocking
 * command was refused, only redirections came back — it runs again on the node the redirection names (after
 * ASKING for ASK), up to `maxRedirections` times within `timeoutMs`. Otherwise the redirection is not a raw
 * `ResponseError` the caller cannot act on: it fails with `ClusterLeaseMovedError`.
 */
export async function runRedirectedLease<T>(
  host: LeaseHost,
  key: RedisArgument | undefined,
  fn: (connection: Connection) => Promise<T>,
): Promise<T> {
  const started = Date.now();
  let node = await host.masterFor(key);
  let asking = false;
  for (let redirections = 0; ; redirections++) {
    const connection = await host.lease(node);
    const watch = new LeaseWatch(connection, asking);
    let redirection: ResponseError;
    try {
      return await fn(connection);
    } catch (error) {
      if (!failedByRedirection(error, watch)) throw error;
      await watch.settled();
      redirection = watch.redirection as ResponseError;
      if (watch.effective > 0) {
        throw new ClusterLeaseMovedError(
          `The slot of a leased connection on ${node.key} moved (${redirection.message.slice(0, 60)}) after ` +
            `${watch.effective} of its commands had taken effect: not run again on the new owner`,
          { cause: redirection },
        );
      }
    } finally {
      watch.uninstall();
      host.release(connection);
    }
    if (redirections + 1 > host.maxRedirections) {
      throw new ClusterError(
        `Too many cluster redirections (${host.maxRedirections}) for a leased connection; the last was ${redirection.code}`,
        { cause: redirection },
      );
    }
    if (host.timeoutMs > 0 && Date.now() - started >= host.timeoutMs) {
      throw new TimeoutError('A leased connection timed out while the cluster redirected it', {
        cause: redirection,
      });
    }
    const next = host.follow(redirection, node);
    node = next.node;
    asking = next.kind === 'ASK';
  }
}
