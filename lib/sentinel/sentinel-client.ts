import type { ConnectionOptions as TlsConnectionOptions } from 'node:tls';
import { Connection } from '../connection/connection';
import type { ConnectionOptions } from '../connection/connection-options';
import { ConnectionError } from '../errors/redis-pool.errors';
import type { RedisReply } from '../protocol/resp.types';
import { POOL_DEFAULTS } from '../pool/pool-defaults';
import { mapAddress, type NatMap, type SentinelAddress } from './sentinel-options';

/** `host:port` of an address. */
export function addressKey(address: SentinelAddress): string {
  return address.host.includes(':')
    ? `[${address.host}]:${address.port}`
    : `${address.host}:${address.port}`;
}

/** Replica flags (SENTINEL REPLICAS) that rule a replica out for reads. */
const UNHEALTHY_FLAGS = new Set(['s_down', 'o_down', 'disconnected']);

/** One flat `[key, value, ...]` array (RESP2) or map (RESP3) of a SENTINEL reply as a plain lookup. */
function fields(reply: RedisReply): Map<string, string> {
  const out = new Map<string, string>();
  if (Array.isArray(reply)) {
    for (let i = 0; i + 1 < reply.length; i += 2) out.set(String(reply[i]), String(reply[i + 1]));
  } else if (reply !== null && typeof reply === 'object' && !Buffer.isBuffer(reply)) {
    for (const [key, value] of Object.entries(reply)) out.set(key, String(value));
  }
  return out;
}

/**
 * Asks the sentinels about one master: where it is, and which other sentinels watch it. Each question goes to
 * the sentinels in turn, on a short-lived connection with the sentinels' own credentials, until one answers;
 * the one that answered is asked first next time. The list grows with the sentinels the answers name, so the
 * pool survives the loss of the seeds it was given.
 */
export class SentinelClient {
  private readonly known: SentinelAddress[];
  /** The sentinels' credentials and TLS: in a private field, out of every inspect and spread. */
  readonly #auth: { username?: string; password?: string; tls?: TlsConnectionOptions };
  constructor(
    seeds: readonly SentinelAddress[],
    private readonly masterName: string,
    auth: { username?: string; password?: string; tls?: boolean | TlsConnectionOptions },
    private readonly queryTimeoutMs: number,
    private readonly natMap: NatMap | undefined,
    /** Set on every sentinel connection too, so that operators (and tests) can tell ours apart. */
    private readonly clientName?: string,
  ) {
    this.known = seeds.map((seed) => ({ ...seed }));
    const tls = auth.tls === true ? {} : auth.tls === false ? undefined : auth.tls;
    this.#auth = { username: auth.username, password: auth.password, tls };
  }

  /** The sentinels known now (seeds and discovered ones). */
  get sentinels(): readonly SentinelAddress[] {
    return this.known;
  }

  /** Opens a connection to the sentinel at `address` (for the event watcher too). */
  connect(address: SentinelAddress): Promise<Connection> {
    const auth = this.#auth;
    const options: ConnectionOptions = {
      host: address.host,
      port: address.port,
      db: 0,
      protocol: 2,
      connectTimeoutMs: this.queryTimeoutMs,
      commandTimeoutMs: this.queryTimeoutMs,
      keepAliveMs: POOL_DEFAULTS.keepAliveMs,
    };
    if (auth.username !== undefined) options.username = auth.username;
    if (auth.password !== undefined) options.password = auth.password;
    if (auth.tls !== undefined) options.tls = auth.tls;
    if (this.clientName !== undefined) options.clientName = this.clientName;
    return Connection.connect(options);
  }

  /**
   * Where the sentinels say the master is (natMap applied), from the first sentinel that knows it; the sentinel
   * list is refreshed from the same answer's sentinel.
   * @throws ConnectionError naming every sentinel's failure when none answered.
   */
  async masterAddress(): Promise<SentinelAddress> {
    const failures: string[] = [];
    for (const sentinel of [...this.known]) {
      let connection: Connection | undefined;
      try {
        connection = await this.connect(sentinel);
        const reply = await connection.executeCommand<RedisReply>(
          'SENTINEL',
          'GET-MASTER-ADDR-BY-NAME',
          this.masterName,
        );
        if (!Array.isArray(reply) || reply.length < 2) {
          failures.push(`${addressKey(sentinel)}: does not know master "${this.masterName}"`);
          continue;
        }
        const master = mapAddress(this.natMap, { host: String(reply[0]), port: Number(reply[1]) });
        await this.learnSentinels(connection);
        this.promote(sentinel);
        return master;
      } catch (error) {
        failures.push(`${addressKey(sentinel)}: ${(error as Error).message}`);
      } finally {
        if (connection !== undefined) void connection.disconnect();
      }
    }
    throw new ConnectionError(
      `No sentinel told where master "${this.masterName}" is (${failures.join('; ')})`,
    );
  }

  /**
   * The replicas of the master that the first answering sentinel sees healthy (natMap applied): not subjectively
   * or objectively down, not disconnected, and with their link to the master up (so not serving stale data).
   * @throws ConnectionError when no sentinel answered.
   */
  async replicaAddresses(): Promise<SentinelAddress[]> {
    const reply = await this.ask('REPLICAS');
    const healthy: SentinelAddress[] = [];
    for (const entry of Array.isArray(reply) ? reply : []) {
      const info = fields(entry);
      const flags = (info.get('flags') ?? '').split(',');
      const host = info.get('ip');
      const port = Number(info.get('port'));
      if (host === undefined || !Number.isInteger(port)) continue;
      if (flags.some((flag) => UNHEALTHY_FLAGS.has(flag))) continue;
      if (info.has('master-link-status') && info.get('master-link-status') !== 'ok') continue;
      healthy.push(mapAddress(this.natMap, { host, port }));
    }
    return healthy;
  }

  /**
   * How many of the known sentinels answer a PING within the query deadline, all asked at once (for health).
   */
  async answering(): Promise<number> {
    const answers = await Promise.all(
      this.known.map(async (sentinel) => {
        let connection: Connection | undefined;
        try {
          connection = await this.connect(sentinel);
          await connection.executeCommand('PING');
          return 1;
        } catch {
          return 0;
        } finally {
          if (connection !== undefined) void connection.disconnect();
        }
      }),
    );
    return answers.reduce((sum: number, one) => sum + one, 0);
  }

  /** Asks the sentinels in turn `SENTINEL <subcommand> <master>` until one answers. */
  private async ask(subcommand: string): Promise<RedisReply> {
    const failures: string[] = [];
    for (const sentinel of [...this.known]) {
      let connection: Connection | undefined;
      try {
        connection = await this.connect(sentinel);
        return await connection.executeCommand<RedisReply>('SENTINEL', subcommand, this.masterName);
      } catch (error) {
        failures.push(`${addressKey(sentinel)}: ${(error as Error).message}`);
      } finally {
        if (connection !== undefined) void connection.disconnect();
      }
    }
    throw new ConnectionError(
      `No sentinel answered SENTINEL ${subcommand} for master "${this.masterName}" (${failures.join('; ')})`,
    );
  }

  /** Adds the sentinels that `connection`'s sentinel knows for this master. */
  private async learnSentinels(connection: Connection): Promise<void> {
    try {
      const reply = await connection.executeCommand<RedisReply>(
        'SENTINEL',
        'SENTINELS',
        this.masterName,
      );
      if (!Array.isArray(reply)) return;
      for (const entry of reply) {
        const info = fields(entry);
        const host = info.get('ip');
        const port = Number(info.get('port'));
        if (host === undefined || !Number.isInteger(port)) continue;
        const address = mapAddress(this.natMap, { host, port });
        if (!this.known.some((k) => k.host === address.host && k.port === address.port)) {
          this.known.push(address);
        }
      }
    } catch {
      // The list stays as it was; the master's address is what matters.
    }
  }

  /** Asks `sentinel` first next time. */
  private promote(sentinel: SentinelAddress): void {
    const at = this.known.indexOf(sentinel);
    if (at > 0) {
      this.known.splice(at, 1);
      this.known.unshift(sentinel);
    }
  }
}
