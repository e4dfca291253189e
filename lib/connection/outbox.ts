import type * as net from 'node:net';
import { Fifo } from '../utils/fifo';
import type { CommandRequest } from './command-request';

/** A command at least this long carries a large value (see `Connection.largePending`). */
const LARGE_REQUEST_BYTES = 64 * 1024;

/** Text is handed to the socket in pieces of at most this many characters, far below V8's string limit. */
const TEXT_CHUNK = 1 << 20;

/**
 * Commands accepted by a connection and not yet written. They leave together, in one coalesced write per turn;
 * until then each one can still be withdrawn: a request that settled while waiting here (timed out, aborted)
 * is dropped at the write and never reaches the socket, which is what makes `commandMayHaveRun: false` true by
 * construction.
 */
export class Outbox {
  private readonly waiting = new Fifo<CommandRequest>(64);

  /** Requests waiting to be written (withdrawn ones included until the next write or `compact()`). */
  get length(): number {
    return this.waiting.length;
  }

  /** Queues a request; returns whether it carries a large value (it is then marked `large`). */
  add(request: CommandRequest): boolean {
    this.waiting.push(request);
    const encoded = request.encoded;
    let size = 0;
    if (typeof encoded === 'string') size = encoded.length;
    else for (const part of encoded) size += part.length;
    request.large = size >= LARGE_REQUEST_BYTES;
    return request.large;
  }

  /** The request `index` places from the oldest. */
  at(index: number): CommandRequest | undefined {
    return this.waiting.at(index);
  }

  /**
   * Writes every request still unsettled, in order, and hands each to `sent` (the reply queue) as it is marked
   * written. Withdrawn ones go to `dropped`. Returns `socket.write()`'s verdict (false: wait for 'drain').
   */
  writeTo(
    socket: net.Socket,
    sent: (request: CommandRequest) => void,
    dropped: (request: CommandRequest) => void,
  ): boolean {
    let text = '';
    let parts: Array<string | Buffer> | null = null;
    for (
      let request = this.waiting.shift();
      request !== undefined;
      request = this.waiting.shift()
    ) {
      if (request.done) {
        dropped(request);
        continue;
      }
      request.written = true;
      sent(request);
      const encoded = request.encoded;
      if (typeof encoded === 'string') {
        if (text.length + encoded.length > TEXT_CHUNK && text !== '') {
          (parts ??= []).push(text);
          text = '';
        }
        text += encoded;
      } else {
        parts ??= [];
        if (text !== '') parts.push(text);
        text = '';
        for (const part of encoded) parts.push(part);
      }
    }
    if (parts === null) {
      // The encoder keeps string parts pure ASCII, so latin1 writes them as a plain copy.
      return text === '' ? true : socket.write(text, 'latin1');
    }
    if (text !== '') parts.push(text);
    socket.cork();
    let ok = true;
    for (const part of parts) {
      ok = typeof part === 'string' ? socket.write(part, 'latin1') : socket.write(part);
    }
    socket.uncork();
    return ok;
  }

  /** Takes out the requests that settled while waiting (they are handed to `dropped`), keeping the rest in order. */
  compact(dropped: (request: CommandRequest) => void): void {
    const count = this.waiting.length;
    for (let i = 0; i < count; i++) {
      const request = this.waiting.shift() as CommandRequest;
      if (request.done) dropped(request);
      else this.waiting.push(request);
    }
  }

  /** Empties the outbox, oldest first. */
  drain(): CommandRequest[] {
    return this.waiting.drain();
  }
}
