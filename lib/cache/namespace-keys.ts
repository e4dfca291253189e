/** How a store's namespace maps to Redis key names: `<namespace><separator><key>`. */
export interface KeyLayout {
  /** The namespace, or `undefined` for keys without one. */
  namespace: string | undefined;
  separator: string;
}

/** The Keyv key of a Redis key `<namespace><separator><key>` (the Redis key as is without a namespace). */
export function unprefixKey(layout: KeyLayout, redisKey: string): string {
  if (!layout.namespace) return redisKey;
  const prefix = `${layout.namespace}${layout.separator}`;
  return redisKey.startsWith(prefix) ? redisKey.slice(prefix.length) : redisKey;
}

/**
 * Escapes what SCAN MATCH reads as glob syntax (`*`, `?`, `[`, `]`, `\`), so that a namespace such as `a*` or
 * `tenant[1]` matches only itself.
 */
export function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, '\\$&');
}

/**
 * The SCAN MATCH pattern of the keys a layout owns: `<namespace><separator>*`, or every key without a namespace
 * (which `ownsKey` then narrows).
 */
export function matchPattern(layout: KeyLayout): string {
  return layout.namespace ? `${escapeGlob(layout.namespace + layout.separator)}*` : '*';
}

/**
 * Whether a key SCAN found under `matchPattern` belongs to the layout. With a namespace the pattern said it all;
 * without one, keys holding the separator belong to some namespace and are left alone, unless `everything` asks
 * for every key (`noNamespaceAffectsAll`).
 */
export function ownsKey(layout: KeyLayout, redisKey: string, everything: boolean): boolean {
  return Boolean(layout.namespace) || everything || !redisKey.includes(layout.separator);
}
