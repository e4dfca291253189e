import { ClusterError } from '../errors/redis-pool.errors';
import type { BatchCommand } from '../pool/redis-pool.interface';
import { commandName } from '../protocol/resp-encoder';
import type { RedisArgument } from '../protocol/resp.types';
import type { CommandKeyTable } from './command-keys';
import { keySlot } from './hash-slot';

/** No key: the command may run on any master. */
export const ANY_SLOT = -1;

/**
 * The slot every key of a command is in, `ANY_SLOT` without keys.
 * @throws ClusterError (CROSSSLOT, before sending) when its keys hash to different slots.
 */
export function commandSlot(
  table: CommandKeyTable,
  command: string,
  args: readonly RedisArgument[],
): number {
  return slotOf(table.keys(command, args), command, table, args);
}

/**
 * The key a batch of commands (a transaction, a blocking call) is routed by: the first key of any of them.
 * @throws ClusterError when their keys hash to more than one slot: a transaction cannot span nodes.
 */
export function batchRoutingKey(
  table: CommandKeyTable,
  commands: readonly BatchCommand[],
): RedisArgument | undefined {
  let first: RedisArgument | undefined;
  let slot = ANY_SLOT;
  for (const { command, args } of commands) {
    const keys = table.keys(command, args);
    if (keys.length === 0) continue;
    const own = slotOf(keys, command, table, args);
    if (slot !== ANY_SLOT && own !== slot) throw crossSlot('the batch', slot, own);
    slot = own;
    first ??= keys[0];
  }
  return first;
}

function slotOf(
  keys: readonly RedisArgument[],
  command: string,
  table: CommandKeyTable,
  args: readonly RedisArgument[],
): number {
  if (keys.length === 0) return ANY_SLOT;
  const slot = keySlot(keys[0]);
  for (let i = 1; i < keys.length; i++) {
    const other = keySlot(keys[i]);
    // Where the server's key specs are incomplete (MIGRATE's "" placeholder), the server has the last word.
    if (other !== slot && table.keysAreComplete(command, args)) {
      throw crossSlot(commandName(command), slot, other);
    }
  }
  return slot;
}

function crossSlot(what: string, slot: number, other: number): ClusterError {
  return new ClusterError(
    `CROSSSLOT refused before sending: the keys of ${what} hash to different slots (${slot} and ${other}); ` +
      'put them in one slot with a {hash tag}',
  );
}
