import * as net from 'node:net';
import { RespDecoder } from '../../lib/protocol/resp-decoder';
import type { RedisReply } from '../../lib/protocol/resp.types';

/** What came back from one raw exchange: the decoded replies and every byte the server sent. */
export interface Exchange {
  replies: RedisReply[];
  pushes: RedisReply[][];
  raw: Buffer;
}

/**
 * Writes bytes to a real server over a plain socket and reads until `count` replies are decoded. No pool, no
 * connection class: only the codec under test between the test and the server.
 */
export function rawExchange(
  port: number,
  bytes: string | Buffer | Array<string | Buffer>,
  count: number,
  returnBuffers = false,
): Promise<Exchange> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    const chunks: Buffer[] = [];
    const out: Exchange = { replies: [], pushes: [], raw: Buffer.alloc(0) };
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`only ${out.replies.length} of ${count} replies arrived`));
    }, 10_000);
    const decoder = new RespDecoder({
      onReply: (reply) => {
        out.replies.push(reply);
        if (out.replies.length === count) {
          clearTimeout(timer);
          out.raw = Buffer.concat(chunks);
          socket.destroy();
          resolve(out);
        }
      },
      onPush: (push) => out.pushes.push(push),
      onError: (error) => {
        clearTimeout(timer);
        socket.destroy();
        reject(error);
      },
    });
    decoder.returnBuffers = returnBuffers;
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      decoder.write(chunk);
    });
    socket.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    socket.on('connect', () => {
      for (const part of Array.isArray(bytes) ? bytes : [bytes]) socket.write(part);
    });
  });
}
