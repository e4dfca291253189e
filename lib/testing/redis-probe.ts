import { connect } from 'node:net';

import type { RedisReply } from '../protocol/resp.types';
import { RespDecoder } from '../protocol/resp-decoder';
import { encodeCommand, type EncodedCommand } from '../protocol/resp-encoder';
import { LOOPBACK_HOST } from './free-port';

function bytesOf(encoded: EncodedCommand): Buffer {
  if (typeof encoded === 'string') return Buffer.from(encoded, 'latin1');
  return Buffer.concat(
    encoded.map((part) => (typeof part === 'string' ? Buffer.from(part, 'latin1') : part)),
  );
}

/**
 * Asks the server on `port` for PING and `INFO server` (after AUTH when a password is set) over a raw socket and
 * resolves with the `process_id` it reports once it answered PONG, or `undefined` while nothing (or not a ready
 * Redis) answers: refused, reset, an error reply such as LOADING, or no reply within `timeoutMs`. Never rejects.
 *
 * The process id tells our server from another one that took the port between picking and binding.
 */
export function probeRedisProcessId(
  port: number,
  password: string | undefined,
  timeoutMs: number,
): Promise<number | undefined> {
  return new Promise((resolve) => {
    const commands: Array<[string, string[]]> = [
      ['PING', []],
      ['INFO', ['server']],
    ];
    if (password !== undefined) commands.unshift(['AUTH', [password]]);
    const replies: RedisReply[] = [];
    const socket = connect({ host: LOOPBACK_HOST, port });
    const finish = (processId: number | undefined): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(processId);
    };
    const timer = setTimeout(() => finish(undefined), timeoutMs);
    const decoder = new RespDecoder({
      onReply: (reply) => {
        replies.push(reply);
        if (replies.length < commands.length) return;
        const [pong, info] = replies.slice(-2);
        const match = typeof info === 'string' ? /^process_id:(\d+)/m.exec(info) : null;
        finish(pong === 'PONG' && match ? Number(match[1]) : undefined);
      },
      onPush: () => undefined,
      onError: () => finish(undefined),
    });
    socket.on('data', (chunk: Buffer) => decoder.write(chunk));
    socket.on('error', () => finish(undefined));
    socket.on('close', () => finish(undefined));
    socket.on('connect', () => {
      socket.write(
        Buffer.concat(commands.map(([name, args]) => bytesOf(encodeCommand(name, args)))),
      );
    });
  });
}
