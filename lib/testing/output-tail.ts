const KEPT_CHARS = 16 * 1024;

/**
 * The recent output of a process, bounded: the pipes are drained for the server's whole life (a full pipe would
 * block it on its next log line) but only the end is kept, for error messages.
 */
export class OutputTail {
  #text = '';

  /** Appends a chunk, dropping the oldest characters beyond the bound. */
  append(chunk: Buffer | string): void {
    this.#text += chunk.toString();
    if (this.#text.length > KEPT_CHARS) this.#text = this.#text.slice(-KEPT_CHARS);
  }

  /** The last `count` non-empty lines. */
  lastLines(count: number): string {
    const lines = this.#text.split('\n').filter((line) => line.trim() !== '');
    return lines.slice(-count).join('\n');
  }
}
