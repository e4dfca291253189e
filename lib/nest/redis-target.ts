import type { PoolOptions } from '../pool/pool-options';
import { maskUrl, mergeUrlOptions } from '../pool/redis-url';
import { isSentinelUrl, maskSentinelUrl } from '../sentinel/sentinel-url';

/**
 * Where a pool connects, as a URL for log lines and errors: `redis://[user[:****]@]host:port/db`,
 * `rediss://...` or `unix:///path`. A password is only ever shown as `****`.
 */
export function describeTarget(
  options: PoolOptions & {
    cluster?: { nodes?: unknown };
    sentinel?: { sentinels?: unknown; masterName?: unknown };
  },
): string {
  const sentinels = options.sentinel?.sentinels;
  if (Array.isArray(sentinels)) {
    const scheme = options.tls !== undefined && options.tls !== false ? 'rediss' : 'redis';
    const list = sentinels.map(
      (s: { host?: unknown; port?: unknown }) => `${String(s?.host)}:${String(s?.port)}`,
    );
    return `${scheme} sentinel ${list.join(',')} master "${String(options.sentinel?.masterName)}"`;
  }
  const seeds = options.cluster?.nodes;
  if (Array.isArray(seeds)) {
    const scheme = options.tls !== undefined && options.tls !== false ? 'rediss' : 'redis';
    const list = seeds.map(
      (seed: { host?: unknown; port?: unknown }) => `${String(seed?.host)}:${String(seed?.port)}`,
    );
    return `${scheme} cluster ${list.join(',')}`;
  }
  const url: unknown = options.url;
  if (isSentinelUrl(url)) return maskSentinelUrl(url);
  let merged: PoolOptions;
  try {
    merged = url !== undefined ? mergeUrlOptions(url as string, options) : options;
  } catch {
    return typeof url === 'string' ? maskUrl(url) : 'redis (invalid options)';
  }
  const db = merged.db ?? 0;
  if (merged.path !== undefined) {
    return `unix://${merged.path}${db !== 0 ? `?db=${db}` : ''}`;
  }
  const scheme = merged.tls !== undefined && merged.tls !== false ? 'rediss' : 'redis';
  const user = merged.username !== undefined ? encodeURIComponent(merged.username) : '';
  const secret = merged.password !== undefined ? ':****' : '';
  const auth = user !== '' || secret !== '' ? `${user}${secret}@` : '';
  const host = merged.host ?? 'localhost';
  const hostPart = host.includes(':') ? `[${host}]` : host;
  return `${scheme}://${auth}${hostPart}:${merged.port ?? 6379}${db !== 0 ? `/${db}` : ''}`;
}
