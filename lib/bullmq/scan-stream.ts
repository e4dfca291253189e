import { Readable } from 'node:stream';
import type { RedisPool } from '../pool/redis-pool.interface';
import type { RedisReply } from '../protocol/resp.types';
import { toBullMqError } from './bullmq.errors';
import { keyScanArguments } from './command-arguments';
import { scanPage } from './reply-shapes';

/** Options of `scanStream()`, as ioredis and BullMQ spell them. */
export interface ScanStreamOptions {
  /** A MATCH glob. */
  match: string;
  /** The COUNT hint per SCAN step. */
  count?: number;
}

/** SCAN pages of one pool, walking its cursor until it comes back to `0`. */
async function* pages(pool: RedisPool, options: ScanStreamOptions): AsyncGenerator<string[]> {
  let cursor = '0';
  do {
    const reply = await pool.execute<RedisReply>(
      'SCAN',
      keyScanArguments(cursor, { MATCH: options.match, COUNT: options.count }),
    );
    const [next, keys] = scanPage(reply);
    cursor = next;
    if (keys.length > 0) yield keys;
  } while (cursor !== '0');
}

/** Every page, master after master on a cluster. */
async function* allPages(pool: RedisPool, options: ScanStreamOptions): AsyncGenerator<string[]> {
  try {
    const pools = pool.masterPools === undefined ? [pool] : await pool.masterPools();
    for (const each of pools) yield* pages(each, options);
  } catch (error) {
    throw toBullMqError(error);
  }
}

/**
 * ioredis's `scanStream()`: an object-mode `Readable` of `string[]` pages of keys matching `match`, ending after
 * the last page; on a cluster every master is scanned in turn. Back-pressure is honoured (the next SCAN is sent
 * when the reader wants more) and `destroy()` stops it.
 */
export function scanStream(pool: RedisPool, options: ScanStreamOptions): Readable {
  return Readable.from(allPages(pool, options), { objectMode: true });
}
