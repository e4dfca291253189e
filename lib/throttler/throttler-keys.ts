/**
 * The two keys of one throttle record: `{<prefix>:<throttlerName>:<key>}:hits` and `...:state`. The braces make
 * the whole record one hash tag, so on a cluster both keys live in one slot and the script may touch both.
 */
export function throttlerKeys(
  prefix: string,
  throttlerName: string,
  key: string,
): [hits: string, state: string] {
  const tag = `{${prefix}:${throttlerName}:${key}}`;
  return [`${tag}:hits`, `${tag}:state`];
}
