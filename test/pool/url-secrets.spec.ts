import { inspect } from 'node:util';
import { ConfigurationError } from '../../lib/errors/redis-pool.errors';
import { ConnectionPool } from '../../lib/pool/connection-pool';
import { maskUrl, parseRedisUrl } from '../../lib/pool/redis-url';
import { URL_SECRET_CASES, errorViews, leakedPieces, thrownBy } from './url-secret-cases';

describe('passwords with raw "/ ? # @" in a URL (RELIABILITY 20, 41)', () => {
  describe.each(URL_SECRET_CASES)('$form: $url', ({ url, password, parsesTo }) => {
    it('maskUrl shows no piece of the password', () => {
      expect(leakedPieces(maskUrl(url), password)).toEqual([]);
    });

    if (parsesTo === undefined) {
      it('is refused with a ConfigurationError that shows no piece of the password', () => {
        const error = thrownBy(() => parseRedisUrl(url));
        expect(error).toBeInstanceOf(ConfigurationError);
        expect((error as Error).message).toMatch(/^Invalid Redis URL /);
        expect(leakedPieces(errorViews(error), password)).toEqual([]);
      });

      it('is refused by new ConnectionPool({ url }) the same way', () => {
        const error = thrownBy(() => new ConnectionPool({ url, maxConnections: 1 }));
        expect(error).toBeInstanceOf(ConfigurationError);
        expect(leakedPieces(errorViews(error), password)).toEqual([]);
      });
    } else {
      it('parses to the password the user meant', () => {
        expect(parseRedisUrl(url).password).toBe(parsesTo);
      });

      it('gives a pool whose toJSON and inspect show no piece of the password', async () => {
        const pool = new ConnectionPool({ url, maxConnections: 1 });
        try {
          const views = [JSON.stringify(pool), JSON.stringify(pool.toJSON()), inspect(pool)];
          expect(leakedPieces(views.join('\n'), password)).toEqual([]);
        } finally {
          await pool.disconnect();
        }
      });
    }
  });

  it('masks the user information up to the last "@", keeping a plain user name', () => {
    expect(maskUrl('redis://:Hf3@Wn6Qz@h:1/2')).toBe('redis://:****@h:1/2');
    expect(maskUrl('redis://user:Mb7?Kd2Hn@h')).toBe('redis://user:****@h');
    expect(maskUrl('rediss://u:Pk2@Ss7/Wq?Rd4@h:1/2?db=1')).toBe('rediss://u:****@h:1/2?db=1');
    expect(maskUrl('redis://us/er:pw@h')).toBe('redis://****@h');
    expect(maskUrl('redis://alice@h')).toBe('redis://alice@h');
    expect(maskUrl('redis//:Gh5/Jk8@h')).toBe('****@h');
  });

  it('masks a password query value up to the next known key, and a broken authority whole', () => {
    expect(maskUrl('redis://h?password=Qw8&Er5#Ty2&db=1')).toBe('redis://h?password=****&db=1');
    expect(maskUrl('redis://h?db=1&PassWord=a&password=b')).toBe(
      'redis://h?db=1&PassWord=****&password=****',
    );
    expect(maskUrl('redis://h?pass%77ord=x&db=1')).toBe('redis://h?pass%77ord=****&db=1');
    expect(maskUrl('redis://:Lk9/Mn2Bv')).toBe('redis://****');
    expect(maskUrl('redis://h:99999/1')).toBe('redis://h:99999/1');
    expect(maskUrl('redis://[::1]:6380/2')).toBe('redis://[::1]:6380/2');
  });

  it('quotes a bad value only when the masked URL shows it anyway', () => {
    expect(() => parseRedisUrl('redis://h?foo=1')).toThrow(/unknown query parameter "foo"/);
    expect(() => parseRedisUrl('redis://h?password=Ab3&Cd4=Ef5')).toThrow(
      /unknown query parameter \(not shown: it may hold a secret\)/,
    );
    expect(() => parseRedisUrl('redis://u:65/Ki9Lo0@h')).toThrow(
      /db in the path must be a non-negative integer, not \(not shown/,
    );
  });

  it('refuses a raw "#", which a Redis URL never needs', () => {
    expect(() => parseRedisUrl('redis://h/0#x')).toThrow(/raw "#" \(percent-encode it as %23/);
  });

  it('reads "+" in a query value as a plus sign, and refuses bad percent-encoding there', () => {
    expect(parseRedisUrl('redis://h?clientName=a+b%2Bc%20d')).toEqual({
      host: 'h',
      clientName: 'a+b+c d',
    });
    expect(() => parseRedisUrl('redis://h?password=Tz9%zz')).toThrow(/bad percent-encoding/);
  });

  it('never prints a URL given as something else than a string', () => {
    const url = new URL('redis://:Jx4Tq9Rw@h');
    const error = thrownBy(() => parseRedisUrl(url as unknown as string));
    expect(error).toBeInstanceOf(ConfigurationError);
    expect(leakedPieces(errorViews(error), 'Jx4Tq9Rw')).toEqual([]);
  });
});

describe('query keys that are Object.prototype members', () => {
  it.each(['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf'])(
    '?%s=x is an unknown query parameter',
    (key) => {
      const call = () => parseRedisUrl(`redis://h?${key}=x`);
      expect(call).toThrow(ConfigurationError);
      expect(call).toThrow(new RegExp(`unknown query parameter "${key}"`));
    },
  );

  it('leaves Object.prototype alone', () => {
    expect(() => parseRedisUrl('redis://h?__proto__=x&db=1')).toThrow(ConfigurationError);
    expect(({} as Record<string, unknown>).db).toBeUndefined();
  });
});
