import { ConfigurationError } from '../../lib/errors/redis-pool.errors';
import { SentinelPool } from '../../lib/sentinel/sentinel-pool';
import { isSentinelUrl, maskSentinelUrl, parseSentinelUrl } from '../../lib/sentinel/sentinel-url';

const SECRET = 'Url-Secret-4t';
const SENTINEL_SECRET = 'Url-Sentinel-Secret-6w';

function failure(url: string): Error {
  try {
    parseSentinelUrl(url);
  } catch (error) {
    return error as Error;
  }
  throw new Error(`${url} was accepted`);
}

describe('redis-sentinel:// URLs', () => {
  it('reads the sentinels (26379 by default), the master, the db, the credentials and the query', () => {
    expect(
      parseSentinelUrl(
        `redis-sentinel://app:${SECRET}@s1.example:26380,[::1],10.0.0.3/my%20master/4?readFrom=preferReplica&sentinelPassword=${SENTINEL_SECRET}&commandTimeoutMs=700&recheckIntervalMs=0`,
      ),
    ).toEqual({
      sentinels: [
        { host: 's1.example', port: 26380 },
        { host: '::1', port: 26379 },
        { host: '10.0.0.3', port: 26379 },
      ],
      masterName: 'my master',
      db: 4,
      username: 'app',
      password: SECRET,
      sentinelPassword: SENTINEL_SECRET,
      readFrom: 'preferReplica',
      commandTimeoutMs: 700,
      recheckIntervalMs: 0,
    });
    expect(parseSentinelUrl('rediss-sentinel://h/m')).toEqual({
      sentinels: [{ host: 'h', port: 26379 }],
      masterName: 'm',
      tls: true,
      sentinelTls: true,
    });
    expect(isSentinelUrl('redis-sentinel://h/m')).toBe(true);
    expect(isSentinelUrl('redis://h')).toBe(false);
    expect(isSentinelUrl(undefined)).toBe(false);
  });

  it.each([
    [`redis-sentinel://:${SECRET}@h1,h2`, /master name is missing/],
    [`redis-sentinel://:${SECRET}@/m`, /no sentinel address/],
    [`redis-sentinel://:${SECRET}@h1:0/m`, /out of range/],
    [`redis-sentinel://:${SECRET}@h1:x/m`, /bad sentinel address/],
    [`redis-sentinel://:${SECRET}@h1/m/0/extra`, /masterName\/db/],
    [`redis-sentinel://:${SECRET}@h1/m/x`, /db/],
    [`redis-sentinel://:${SECRET}@h1/m?nope=1`, /unknown query parameter/],
    [`redis-sentinel://:${SECRET}@h1/m?recheckIntervalMs=-1`, /non-negative integer/],
    [`redis-sentinel://h1/m?sentinelPassword=${SENTINEL_SECRET}&nope=1`, /unknown query/],
    [`redis-sentinel://h1/m?password=${SECRET}%zz`, /percent-encoding/],
    ['redis://h1/m', /redis-sentinel:\/\//],
  ])('%s is a ConfigurationError that shows no secret', (url, why) => {
    const error = failure(url);
    expect(error).toBeInstanceOf(ConfigurationError);
    expect(error.message).toMatch(why);
    expect(error.message).not.toContain(SECRET);
    expect(error.message).not.toContain(SENTINEL_SECRET);
  });

  it('masks the user information and every password query value', () => {
    expect(maskSentinelUrl(`redis-sentinel://app:${SECRET}@h1,h2/m`)).toBe(
      'redis-sentinel://app:****@h1,h2/m',
    );
    expect(
      maskSentinelUrl(`redis-sentinel://h1/m?db=1&sentinelPassword=${SENTINEL_SECRET}&x=1`),
    ).toBe('redis-sentinel://h1/m?db=1&sentinelPassword=****');
    expect(maskSentinelUrl(`redis-sentinel://${SECRET}@h1/m`)).toBe('redis-sentinel://****@h1/m');
  });

  it('SentinelPool.fromUrl: explicit options win over the URL', async () => {
    const pool = SentinelPool.fromUrl('redis-sentinel://127.0.0.1:1/m?readFrom=replica', {
      masterName: 'other',
      readFrom: 'master',
    });
    expect(pool.toJSON()).toMatchObject({ masterName: 'other', replicas: [] });
    await pool.disconnect();
  });
});
