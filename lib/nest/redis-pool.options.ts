import { inspect, type InspectOptionsStylized } from 'node:util';
import { maskUrl } from '../pool/redis-url';
import type { RedisPoolModuleOptions } from './redis-pool.interfaces';

/**
 * The options that hold, or may hold, a secret: the password, the URL (which may carry one) and the TLS options
 * (which may carry a private key and its passphrase), and the sentinel options (the sentinels' password and TLS).
 */
export const SECRET_OPTION_KEYS = ['password', 'url', 'tls', 'sentinel'] as const;

type SecretOptionKey = (typeof SECRET_OPTION_KEYS)[number];
type SecretOptions = Pick<RedisPoolModuleOptions, SecretOptionKey>;

function isSecretKey(key: string): key is SecretOptionKey {
  return (SECRET_OPTION_KEYS as readonly string[]).includes(key);
}

/**
 * The options one registration keeps, and what `getRedisPoolOptionsToken(name)` resolves to: a frozen copy whose
 * non-secret options are plain enumerable properties, and whose secrets (`password`, `url`, `tls`) live in
 * `#private` storage behind getters. `util.inspect` (even with `customInspect: false` and `showHidden: true`),
 * `JSON.stringify`, `Object.keys`/`entries` and spreading never show them; reading `options.password` still
 * works. Its own `inspect` and `toJSON` show the URL masked and the password as `****`.
 */
export class ProtectedRedisPoolOptions {
  readonly #secrets: Readonly<SecretOptions>;

  constructor(options: RedisPoolModuleOptions) {
    const secrets: SecretOptions = {};
    for (const key of SECRET_OPTION_KEYS) {
      // Read by name, not by enumeration: the options may be another registration's protected ones.
      const value = options[key];
      if (value !== undefined) Object.assign(secrets, { [key]: value });
    }
    this.#secrets = Object.freeze(secrets);
    for (const [key, value] of Object.entries(options)) {
      if (isSecretKey(key) || key === '__proto__') continue;
      Object.defineProperty(this, key, { value, enumerable: true });
    }
    Object.freeze(this);
  }

  /** The password (`requirepass` or the ACL user's); never enumerated, inspected or serialised. */
  get password(): string | undefined {
    return this.#secrets.password;
  }

  /** The URL, which may carry a password; never enumerated, inspected or serialised. */
  get url(): string | undefined {
    return this.#secrets.url;
  }

  /** The TLS options, which may carry a private key; never enumerated, inspected or serialised. */
  get tls(): RedisPoolModuleOptions['tls'] {
    return this.#secrets.tls;
  }

  /** The sentinel options, which hold the sentinels' password; never enumerated, inspected or serialised. */
  get sentinel(): RedisPoolModuleOptions['sentinel'] {
    return this.#secrets.sentinel;
  }

  /** Every option, secrets included, as a plain object: for the pool it configures, never for printing. */
  reveal(): RedisPoolModuleOptions {
    return { ...(this as object), ...this.#secrets };
  }

  /** The options with the URL masked, the password as `****` and the TLS options as `true`. */
  toJSON(): Record<string, unknown> {
    const { password, url, tls, sentinel } = this.#secrets;
    return {
      ...(this as object),
      ...(url !== undefined && { url: maskUrl(url) }),
      ...(password !== undefined && { password: '****' }),
      ...(tls !== undefined && { tls: tls !== false }),
      ...(sentinel !== undefined && {
        sentinel: {
          ...sentinel,
          ...(sentinel.sentinelPassword !== undefined && { sentinelPassword: '****' }),
          ...(sentinel.sentinelTls !== undefined && {
            sentinelTls: sentinel.sentinelTls !== false,
          }),
        },
      }),
    };
  }

  /** Shows what `toJSON` does. */
  [inspect.custom](_depth: number, options: InspectOptionsStylized): string {
    return `${ProtectedRedisPoolOptions.name} ${inspect(this.toJSON(), options)}`;
  }
}

/**
 * Options as a registration keeps them (see {@link ProtectedRedisPoolOptions}); options that already are are
 * returned as they are.
 */
export function protectOptions(options: RedisPoolModuleOptions): ProtectedRedisPoolOptions {
  return options instanceof ProtectedRedisPoolOptions
    ? options
    : new ProtectedRedisPoolOptions(options);
}

/** Every option, secrets included, as a plain object, whether the options are protected or not. */
export function revealOptions(options: RedisPoolModuleOptions): RedisPoolModuleOptions {
  return options instanceof ProtectedRedisPoolOptions ? options.reveal() : options;
}
