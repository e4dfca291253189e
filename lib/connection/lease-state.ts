import type { RedisArgument } from '../protocol/resp.types';

/**
 * What a leased connection's commands changed about it, so that `release()` can put it back as it was (or
 * discard it) before anyone else uses it.
 */
export class LeaseState {
  /** The db a SELECT switched to, when one ran. */
  selectedDb: number | undefined;
  watching = false;
  inMulti = false;
  /** Changed in a way that is cheaper and safer to discard than to undo (subscriptions, tracking, identity). */
  mustDiscard = false;

  /** Whether anything needs undoing. */
  get dirty(): boolean {
    return this.selectedDb !== undefined || this.watching || this.inMulti || this.mustDiscard;
  }

  track(name: string, args: readonly RedisArgument[]): void {
    switch (name) {
      case 'SELECT':
        this.selectedDb = Number(args[0]);
        break;
      case 'WATCH':
        this.watching = true;
        break;
      case 'UNWATCH':
        this.watching = false;
        break;
      case 'MULTI':
        this.inMulti = true;
        break;
      case 'EXEC':
      case 'DISCARD':
        this.inMulti = false;
        this.watching = false;
        break;
      case 'SUBSCRIBE':
      case 'PSUBSCRIBE':
      case 'SSUBSCRIBE':
      case 'HELLO':
      case 'AUTH':
      case 'RESET':
      case 'READONLY':
      case 'READWRITE':
        this.mustDiscard = true;
        break;
      case 'CLIENT': {
        const sub = String(args[0] ?? '').toUpperCase();
        if (sub !== 'ID' && sub !== 'INFO' && sub !== 'LIST' && sub !== 'GETNAME')
          this.mustDiscard = true;
        break;
      }
    }
  }

  /** Forgets everything: the connection is clean again. */
  clear(): void {
    this.selectedDb = undefined;
    this.watching = false;
    this.inMulti = false;
    this.mustDiscard = false;
  }
}
