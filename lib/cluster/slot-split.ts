import {
  ClusterError,
  ClusterSplitError,
  ConnectionError,
  ResponseError,
  TimeoutError,
} from '../errors/redis-pool.errors';
import { commandName } from '../protocol/command-name';
import type { RedisArgument, RedisReply } from '../protocol/resp.types';
import { keySlot } from './hash-slot';

/** How the replies of a split command's parts make its one reply. */
type Join = 'values' | 'sum' | 'ok';

interface Splittable {
  join: Join;
  /** Arguments per key: 1 (the keys themselves), 2 (key, value pairs). */
  stride: 1 | 2;
  /** Only split when asked (`splitAcrossSlots`): the whole command would no longer be atomic. */
  optIn: boolean;
}

/**
 * Commands whose keys may span slots and are run as one command per slot. MSETNX, transactions, WATCH and
 * scripts are not here: they stay strictly single-slot (CROSSSLOT refused before sending).
 */
const SPLITTABLE = new Map<string, Splittable>([
  ['MGET', { join: 'values', stride: 1, optIn: false }],
  ['DEL', { join: 'sum', stride: 1, optIn: false }],
  ['UNLINK', { join: 'sum', stride: 1, optIn: false }],
  ['EXISTS', { join: 'sum', stride: 1, optIn: false }],
  ['TOUCH', { join: 'sum', stride: 1, optIn: false }],
  ['MSET', { join: 'ok', stride: 2, optIn: true }],
]);

/** One slot's share of a split command. */
export interface SlotPart {
  slot: number;
  /** The part's arguments, in the caller's order. */
  args: RedisArgument[];
  /** Where each of the part's keys was among the caller's keys (MGET puts its values back there). */
  positions: number[];
}

/** A command split per slot: its parts, in the order their slots first appear among the keys. */
export interface SplitPlan {
  name: string;
  join: Join;
  stride: 1 | 2;
  keyCount: number;
  parts: SlotPart[];
}

/**
 * The per-slot parts of `command` when it is one of the splittable commands and its keys hash to more than one
 * slot; `undefined` when it runs as it is (one slot, not splittable, or malformed: the server then has its say).
 * @throws ClusterError for MSET across slots without `splitAcrossSlots`: it would no longer be atomic.
 */
export function planSplit(
  command: string,
  args: readonly RedisArgument[],
  splitAcrossSlots: boolean,
): SplitPlan | undefined {
  const spec = SPLITTABLE.get(command) ?? SPLITTABLE.get(commandName(command));
  if (spec === undefined || args.length < 2 * spec.stride || args.length % spec.stride !== 0) {
    return undefined;
  }
  const { stride } = spec;
  const first = keySlot(args[0]);
  let i = stride;
  while (i < args.length && keySlot(args[i]) === first) i += stride;
  if (i >= args.length) return undefined;
  const name = commandName(command);
  if (spec.optIn && !splitAcrossSlots) {
    throw new ClusterError(
      `CROSSSLOT refused before sending: the keys of ${name} hash to different slots, and split per slot it ` +
        'would no longer be atomic; put them in one slot with a {hash tag}, or pass { splitAcrossSlots: true } ' +
        '(atomic only per slot)',
    );
  }
  const bySlot = new Map<number, SlotPart>();
  for (let at = 0; at < args.length; at += stride) {
    const slot = keySlot(args[at]);
    let part = bySlot.get(slot);
    if (part === undefined) {
      part = { slot, args: [], positions: [] };
      bySlot.set(slot, part);
    }
    part.positions.push(at / stride);
    part.args.push(args[at]);
    if (stride === 2) part.args.push(args[at + 1]);
  }
  return {
    name,
    join: spec.join,
    stride,
    keyCount: args.length / stride,
    parts: [...bySlot.values()],
  };
}

/**
 * Runs every part at once (each node gets its parts in one pipelined write, as commands issued in one turn do)
 * and joins the replies: MGET's values back in the caller's order, integer replies summed, MSET's `OK`.
 * @throws ClusterSplitError when any part failed, saying which keys' parts succeeded, failed or may have run;
 *   the error of a single failed part as it is when every part failed the same way before running (a
 *   WRONGTYPE, a closed pool), since nothing of the call then ran.
 */
export async function runSplit(
  plan: SplitPlan,
  runPart: (args: readonly RedisArgument[]) => Promise<RedisReply>,
): Promise<RedisReply> {
  const settled = await Promise.all(
    plan.parts.map((part) =>
      runPart(part.args).then(
        (reply) => reply,
        (error: unknown) => (error instanceof Error ? error : new Error(String(error))),
      ),
    ),
  );
  const errors = settled.filter((value): value is Error => value instanceof Error);
  if (errors.length > 0) throw splitFailure(plan, settled, errors);
  switch (plan.join) {
    case 'ok':
      return 'OK';
    case 'sum':
      return settled.reduce<number>((sum, reply) => sum + Number(reply), 0);
    case 'values': {
      const values = new Array<RedisReply>(plan.keyCount);
      plan.parts.forEach((part, index) => {
        const reply = settled[index] as RedisReply[];
        part.positions.forEach((position, i) => {
          values[position] = reply[i];
        });
      });
      return values;
    }
  }
}

/** Whether a failed part may have run: its command was written and its reply lost. */
function mayHaveRun(error: Error): boolean {
  return (
    (error instanceof ConnectionError || error instanceof TimeoutError) && error.commandMayHaveRun
  );
}

function splitFailure(
  plan: SplitPlan,
  settled: ReadonlyArray<RedisReply | Error>,
  errors: Error[],
): Error {
  if (errors.length === settled.length && errors.every((error) => !mayHaveRun(error))) {
    const first = errors[0];
    // One answer for the whole call, and nothing of it ran: the caller's error as any command would get it.
    if (errors.every((error) => sameFailure(error, first))) return first;
  }
  const succeeded: Array<string | Buffer> = [];
  const failed: Array<string | Buffer> = [];
  const uncertain: Array<string | Buffer> = [];
  const failedSlots: number[] = [];
  plan.parts.forEach((part, index) => {
    const value = settled[index];
    const target = !(value instanceof Error) ? succeeded : mayHaveRun(value) ? uncertain : failed;
    if (value instanceof Error) failedSlots.push(part.slot);
    for (let i = 0; i < part.args.length; i += plan.stride) target.push(keyOf(part.args[i]));
  });
  const done = plan.name === 'MSET' ? 'written' : 'done';
  const slots = failedSlots.length > 10 ? `${failedSlots.slice(0, 10).join(', ')}...` : failedSlots;
  return new ClusterSplitError(
    `${plan.name} split over ${plan.parts.length} slots failed in ${errors.length} (slots ${String(slots)}): ` +
      `${succeeded.length} keys ${done}, ${failed.length} not, ${uncertain.length} unknown (reply lost); ` +
      `see the error's succeeded, failed and uncertain keys. First error: ${errors[0].name}: ${errors[0].message}`,
    { command: plan.name, succeeded, failed, uncertain, errors },
  );
}

function sameFailure(error: Error, first: Error): boolean {
  if (error.constructor !== first.constructor) return false;
  return !(error instanceof ResponseError) || error.code === (first as ResponseError).code;
}

/** A key as the error lists it: text or bytes. */
function keyOf(key: RedisArgument): string | Buffer {
  if (typeof key === 'string' || Buffer.isBuffer(key)) return key;
  return key instanceof Uint8Array ? Buffer.from(key) : String(key);
}
