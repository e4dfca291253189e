import { commandName } from '../protocol/resp-encoder';
import type { RedisArgument } from '../protocol/resp.types';

/*
 * Checks a helper runs before it queues or sends anything. A JavaScript caller is not held to the TypeScript
 * signatures, and a helper that read only the arguments it expects would drop the rest without a word (an
 * ioredis-style `hset(key, f1, v1, f2, v2)`, `set(key, value, 'EX', 10)`, a trailing callback), or read a string
 * as an object of fields. Each check returns the `TypeError` to refuse the call with, or `undefined`. Messages name
 * types, options and positions, never values (a value may be a secret).
 */

/** Whether `value` is something the encoder sends: a string, a finite number, a bigint or bytes. */
export function isArgument(value: unknown): value is RedisArgument {
  switch (typeof value) {
    case 'string':
    case 'bigint':
      return true;
    case 'number':
      return Number.isFinite(value);
    default:
      return value instanceof Uint8Array;
  }
}

/** A value's kind as messages name it. */
function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return `an array of ${value.length}`;
  if (value instanceof Uint8Array) return 'a Buffer';
  if (value instanceof Map) return 'a Map';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'number') return Number.isFinite(value) ? 'a number' : String(value);
  return typeof value === 'undefined' ? 'undefined' : `a ${typeof value}`;
}

/** An object read by its own keys: not an array, bytes, a Map or a Set. */
function isRecord(value: unknown): value is Record<string, unknown> {
  return (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    !(value instanceof Uint8Array) &&
    !(value instanceof Map) &&
    !(value instanceof Set)
  );
}

/** A helper called with more arguments than it takes. */
export function tooManyArguments(helper: string, given: number, max: number): TypeError {
  return new TypeError(
    `${helper}() takes at most ${max} argument${max === 1 ? '' : 's'}, got ${given}: extra arguments are refused, not ignored (options go in one object; there are no callbacks, use the returned promise)`,
  );
}

/** Positional pairs (`hset(key, f1, v1, f2, v2)`, `mset(k1, v1, k2, v2)`) with one half missing. */
export function unpairedArguments(helper: string, what: string, given: number): TypeError {
  return new TypeError(
    `${helper}() takes ${what} in pairs, got ${given} argument${given === 1 ? '' : 's'} for them (one has no partner)`,
  );
}

/** Checks one value at `path` (`options.trim.maxlen`); returns what is wrong with it. */
export type ValueCheck = (value: unknown, path: string) => string | undefined;

/** A boolean option: anything else (`'true'`, `1`) would be read as `false`. */
export const flag: ValueCheck = (value, path) =>
  typeof value === 'boolean' ? undefined : `${path} must be true or false, got ${kindOf(value)}`;

/** An option sent as an argument. */
export const argument: ValueCheck = (value, path) =>
  isArgument(value)
    ? undefined
    : `${path} must be a string, number, bigint or Buffer, got ${kindOf(value)}`;

/** One of a few words, exactly as written (a near miss would silently pick the default). */
export function oneOf(...words: string[]): ValueCheck {
  return (value, path) =>
    typeof value === 'string' && words.includes(value)
      ? undefined
      : `${path} must be one of ${words.map((word) => `'${word}'`).join(', ')}`;
}

/**
 * An object with only these keys (an unknown key is refused: `{ EX: 10 }` or `{ expire: 10 }` must not set a key
 * without its expiry), each checked when it is not `undefined`; `rule` then checks the whole.
 */
export function shape(
  checks: Readonly<Record<string, ValueCheck>>,
  rule?: (value: Record<string, unknown>, path: string) => string | undefined,
): ValueCheck {
  const known = Object.keys(checks).join(', ');
  return (value, path) => {
    if (!isRecord(value)) return `${path} must be an object, got ${kindOf(value)}`;
    for (const name of Object.keys(value)) {
      if (!Object.hasOwn(checks, name))
        return `${path} has an unknown key '${name}' (known: ${known})`;
      const item = value[name];
      if (item === undefined) continue;
      const problem = checks[name](item, `${path}.${name}`);
      if (problem !== undefined) return problem;
    }
    return rule?.(value, path);
  };
}

/** Requires each of `names` to be present (not `undefined`). */
export function requires(
  ...names: string[]
): (value: Record<string, unknown>, path: string) => string | undefined {
  return (value, path) => {
    const missing = names.find((name) => value[name] === undefined);
    return missing === undefined ? undefined : `${path}.${missing} is required`;
  };
}

/** The `TypeError` for an argument (`name` in messages) that does not pass `check`. */
export function valueError(
  helper: string,
  value: unknown,
  check: ValueCheck,
  name: string,
): TypeError | undefined {
  const problem = check(value, name);
  return problem === undefined ? undefined : new TypeError(`${helper}(): ${problem}`);
}

/** The `TypeError` for an options argument that does not pass `check`; `undefined` options pass. */
export function optionsError(
  helper: string,
  options: unknown,
  check: ValueCheck,
  name = 'options',
): TypeError | undefined {
  return options === undefined ? undefined : valueError(helper, options, check, name);
}

/**
 * Field/value pairs as `FieldValues` allows them: an object, a Map, or an array of `[field, value]` arrays (a
 * flat array or a string would otherwise be read entry by entry, or character by character, as pairs).
 */
export function pairsError(
  helper: string,
  values: unknown,
  name: string,
  pair: string,
): TypeError | undefined {
  if (Array.isArray(values)) {
    for (let i = 0; i < values.length; i++) {
      const entry: unknown = values[i];
      if (!Array.isArray(entry) || entry.length !== 2) {
        return new TypeError(
          `${helper}(): ${name}[${i}] must be a ${pair} array of 2, got ${kindOf(entry)}`,
        );
      }
    }
    return undefined;
  }
  if (values instanceof Map || isRecord(values)) return undefined;
  return new TypeError(
    `${helper}(): ${name} must be an object, a Map or an array of ${pair} pairs, got ${kindOf(values)}`,
  );
}

/** One key or an array of keys (anything else would be spread, or refused late by the encoder). */
export function keysError(helper: string, keys: unknown): TypeError | undefined {
  if (Array.isArray(keys) || isArgument(keys)) return undefined;
  return new TypeError(`${helper}(): keys must be a key or an array of keys, got ${kindOf(keys)}`);
}

/**
 * The arguments of a command queued on a pipeline or a transaction, checked as the encoder will check them, so
 * that a bad one refuses the call instead of failing inside the batch while the commands around it still run.
 */
export function argumentsError(command: unknown, args: readonly unknown[]): TypeError | undefined {
  if (typeof command !== 'string' || command.trim() === '') {
    return new TypeError('Command name must be a non-empty string');
  }
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (!isArgument(arg)) {
      const what = arg === null ? 'null' : typeof arg === 'number' ? String(arg) : typeof arg;
      return new TypeError(
        `Invalid argument #${i + 1} to ${commandName(command)}: ${what} (expected a string, number, bigint or Buffer)`,
      );
    }
  }
  return undefined;
}
