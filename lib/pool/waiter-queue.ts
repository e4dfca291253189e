import type { Connection } from '../connection/connection';

/** A caller waiting for an exclusive lease. */
export interface Waiter {
  resolve(connection: Connection): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout | null;
  prev: Waiter | null;
  next: Waiter | null;
  queued: boolean;
}

/** FIFO of lease waiters as a doubly linked list: the oldest is served first, and a timed-out one leaves in O(1). */
export class WaiterQueue {
  private head: Waiter | null = null;
  private tail: Waiter | null = null;
  private count = 0;

  get length(): number {
    return this.count;
  }

  push(waiter: Waiter): void {
    waiter.prev = this.tail;
    waiter.next = null;
    if (this.tail === null) this.head = waiter;
    else this.tail.next = waiter;
    this.tail = waiter;
    waiter.queued = true;
    this.count++;
  }

  peek(): Waiter | null {
    return this.head;
  }

  shift(): Waiter | null {
    const waiter = this.head;
    if (waiter !== null) this.remove(waiter);
    return waiter;
  }

  remove(waiter: Waiter): void {
    if (!waiter.queued) return;
    if (waiter.prev === null) this.head = waiter.next;
    else waiter.prev.next = waiter.next;
    if (waiter.next === null) this.tail = waiter.prev;
    else waiter.next.prev = waiter.prev;
    waiter.prev = waiter.next = null;
    waiter.queued = false;
    this.count--;
  }
}
