import type { ProtocolError, ResponseError } from '../errors/redis-pool.errors';

/** What a command argument may be. Everything else is refused with a `TypeError` before it is queued. */
export type RedisArgument = string | number | bigint | Buffer | Uint8Array;

/** A RESP3 map reply: a null-prototype object, so fields such as `__proto__` stay plain data. */
export interface RedisMap {
  [field: string]: RedisReply;
}

/**
 * A decoded reply. Strings are UTF-8 (`Buffer` in buffer mode), integers are `number` or `bigint` beyond the
 * safe range, nil is `null`, arrays and sets are arrays, maps are null-prototype objects keyed by text
 * (`RedisMap`). In buffer mode a RESP3 map is a `RedisMapEntries` instead: an array of `[key, value]` pairs whose
 * keys stay byte-exact. An error reply nested in an aggregate (EXEC, pipelines) stays in place as a
 * `ResponseError` value.
 */
export type RedisReply =
  string | number | bigint | boolean | null | Buffer | ResponseError | RedisReply[] | RedisMap;

/** Limits that keep a hostile or broken server from exhausting time, stack or memory. */
export interface DecoderLimits {
  /**
   * Deepest nesting of aggregates accepted. The decoder is iterative, so this protects consumers, not the stack.
   * @default 1024
   */
  maxDepth?: number;
  /**
   * Most elements an array, set, push or map (counting pairs) may declare, or hold when streamed (`*?`, `%?`...).
   * @default 100_000_000
   */
  maxAggregateLength?: number;
  /**
   * Largest bulk string accepted, in bytes (Redis's own `proto-max-bulk-len` default); for a streamed string
   * (`$?`), the most bytes of all its chunks together. Memory is set aside as bytes arrive, not as declared.
   * @default 536_870_912
   */
  maxBulkLength?: number;
  /**
   * Longest simple-string, error or header line, in bytes, before its CRLF must have arrived.
   * @default 1_048_576
   */
  maxLineLength?: number;
}

/** Where decoded values go. Callbacks run synchronously, in wire order. */
export interface DecoderHandlers {
  /** A complete top-level reply. An error reply arrives as a `ResponseError` value. */
  onReply(reply: RedisReply): void;
  /** A RESP3 push frame (pub/sub messages, invalidations). Never a reply. */
  onPush(push: RedisReply[]): void;
  /** A RESP3 attribute that preceded a value, keyed by text in either mode. Never a reply. */
  onAttribute?(attribute: RedisMap): void;
  /** The stream is not valid RESP. The decoder stops; the connection must be closed. */
  onError(error: ProtocolError): void;
}
