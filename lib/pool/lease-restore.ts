import type { Connection } from '../connection/connection';

/**
 * Makes a returned lease clean again, or discards it. `true`: clean as it is; `false`: discarded (replies still
 * outstanding, subscriptions, tracking or identity changes, or not ready); a promise: the state it changed
 * (MULTI, WATCH, SELECT) is being undone, resolving `true` when that worked and `false` when the connection was
 * destroyed instead. A connection with replies still outstanding is never handed to anyone else.
 */
export function restoreLease(connection: Connection, db: number): boolean | Promise<boolean> {
  if (!connection.ready) {
    connection.destroy();
    return false;
  }
  const lease = connection.lease;
  if (connection.pending > 0 || lease.mustDiscard || connection.subscribed) {
    if (connection.pending > 0) connection.destroy();
    else void connection.disconnect();
    return false;
  }
  if (!lease.dirty) return true;
  const undo: Array<Promise<unknown>> = [];
  if (lease.inMulti) undo.push(connection.executeCommand('DISCARD').catch(() => undefined));
  if (lease.watching || lease.inMulti) undo.push(connection.executeCommand('UNWATCH'));
  if (lease.selectedDb !== undefined && lease.selectedDb !== db) {
    undo.push(connection.executeCommand('SELECT', db));
  }
  return Promise.all(undo).then(
    () => {
      lease.clear();
      return true;
    },
    () => {
      connection.destroy();
      return false;
    },
  );
}
