import type { Connection } from '../connection/connection';
import type { RedisReply } from '../protocol/resp.types';
import { keyName } from './cacheable-commands';

/** What a tracked connection's invalidation pushes tell the cache. */
export interface TrackingListener {
  /** These keys changed (or were evicted from the server's tracking table): drop what this socket read of them. */
  invalidate(keys: readonly string[]): void;
  /** FLUSHDB/FLUSHALL (a push with no keys): drop everything this socket read. */
  flushed(): void;
  /** The connection closed, or its tracking stopped (a broken redirect): drop everything, store nothing more. */
  lost(): void;
}

function text(value: RedisReply | undefined): string | undefined {
  if (typeof value === 'string') return value;
  return Buffer.isBuffer(value) ? value.toString('latin1') : undefined;
}

/**
 * Listens to one connection's RESP3 pushes for `invalidate` and `tracking-redir-broken`, and to its close. The
 * connection emits pushes synchronously in the order its socket delivered them, between the replies around
 * them: an invalidation is applied before any reply that came after it is stored. Returns how to stop listening.
 */
export function listenForInvalidations(
  connection: Connection,
  listener: TrackingListener,
): () => void {
  const onPush = (frame: RedisReply[]): void => {
    const kind = text(frame[0]);
    if (kind === 'invalidate') {
      const keys = frame[1];
      if (!Array.isArray(keys)) {
        listener.flushed();
        return;
      }
      const names: string[] = [];
      for (const key of keys) {
        const name = keyName(key as string | Buffer);
        if (name !== undefined) names.push(name);
      }
      listener.invalidate(names);
    } else if (kind === 'tracking-redir-broken') {
      listener.lost();
    }
  };
  const stop = (): void => {
    connection.off('push', onPush);
    connection.off('close', onClose);
  };
  const onClose = (): void => {
    stop();
    listener.lost();
  };
  connection.on('push', onPush);
  connection.on('close', onClose);
  return stop;
}
