import type { Connection } from '../connection/connection';
import type { RedisReply } from '../protocol/resp.types';
import type { CommandSpec } from './command-runner';
import { fixedSource } from './connection-source';
import { Multi } from './multi';
import { Pipeline } from './pipeline';
import type { CallOptions } from './redis-client.types';
import { IteratorCommands } from './scan-iterator';

/**
 * The whole command API on one leased connection, as `RedisService.withConnection()`, `watch()` and
 * `transaction()` hand it to their callback: every helper, blocking commands (which block only this connection),
 * `executeCommand` for anything stateful (SELECT, WATCH, CLIENT ...), and `multi()`/`pipeline()` on this same
 * connection. The lease is given back when the callback settles; do not keep the client beyond it.
 */
export class LeasedClient extends IteratorCommands {
  private execAborted = false;

  /** @internal Made by `RedisService` for the duration of a callback. */
  constructor(
    /** The leased connection itself, for raw access (`executeCommandBuffer`, `on('push')`...). */
    readonly connection: Connection,
    private readonly options: CallOptions = {},
  ) {
    super();
  }

  /** The leased connection's id, as on a `Connection`. */
  get id(): number {
    return this.connection.id;
  }

  /** Closes the leased connection, as on a `Connection`; the pool discards it when the lease ends. */
  disconnect(): Promise<void> {
    return this.connection.disconnect();
  }

  protected run<T>(spec: CommandSpec<T>): Promise<T> {
    const { signal, timeoutMs } = this.options;
    const reply = this.connection.executeWith<RedisReply>(
      spec.command,
      spec.args,
      spec.buffers,
      timeoutMs,
      signal,
    );
    const transform = spec.transform;
    return transform === undefined ? (reply as Promise<T>) : reply.then(transform);
  }

  /** A transaction on this connection (after WATCH, inside `watch()`); `exec()` is `null` when it was aborted. */
  multi(): Multi {
    return new Multi(fixedSource(this.connection), this.options, () => {
      this.execAborted = true;
    });
  }

  /** A pipeline on this connection. */
  pipeline(): Pipeline {
    return new Pipeline(fixedSource(this.connection), this.options);
  }

  /** @internal Whether a `multi()` of this client had its EXEC aborted since the last call; resets the flag. */
  takeExecAborted(): boolean {
    const aborted = this.execAborted;
    this.execAborted = false;
    return aborted;
  }
}
