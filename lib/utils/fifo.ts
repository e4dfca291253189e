/**
 * A ring-buffer queue: O(1) push and shift without the array re-indexing `Array#shift` does on long queues.
 * Holds the commands awaiting replies, so it is on the hot path of every command.
 */
export class Fifo<T> {
  private items: Array<T | undefined>;
  private head = 0;
  private count = 0;

  /** @param capacity initial room; rounded up to a power of two so indexes wrap with a mask. */
  constructor(capacity = 16) {
    let size = 2;
    while (size < capacity) size *= 2;
    this.items = new Array<T | undefined>(size);
  }

  get length(): number {
    return this.count;
  }

  push(item: T): void {
    if (this.count === this.items.length) this.grow();
    this.items[(this.head + this.count) & (this.items.length - 1)] = item;
    this.count++;
  }

  shift(): T | undefined {
    if (this.count === 0) return undefined;
    const item = this.items[this.head];
    this.items[this.head] = undefined;
    this.head = (this.head + 1) & (this.items.length - 1);
    this.count--;
    return item;
  }

  peek(): T | undefined {
    return this.count === 0 ? undefined : this.items[this.head];
  }

  /** The item `index` places from the head (0 is the head). */
  at(index: number): T | undefined {
    return index < 0 || index >= this.count
      ? undefined
      : this.items[(this.head + index) & (this.items.length - 1)];
  }

  /** Empties the queue and returns what it held, head first. */
  drain(): T[] {
    const out: T[] = [];
    for (let item = this.shift(); item !== undefined; item = this.shift()) out.push(item);
    return out;
  }

  private grow(): void {
    const old = this.items;
    const next = new Array<T | undefined>(old.length * 2);
    for (let i = 0; i < this.count; i++) next[i] = old[(this.head + i) & (old.length - 1)];
    this.items = next;
    this.head = 0;
  }
}
