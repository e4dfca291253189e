import type { RedisArgument } from '../protocol/resp.types';
import type { Chained, ChainKind } from './command-runner';
import type { InfoSections, RedisTime } from './redis-client.types';
import { asInfo, asNumber, asOk, asString, asTime } from './reply-transforms';
import { StreamCommands } from './stream-commands';

/**
 * Server and pub/sub publishing commands: PING, ECHO, INFO (parsed), DBSIZE, FLUSHDB, TIME, PUBLISH, SPUBLISH.
 * The last family of the chain: every command helper shared by `RedisService`, leased clients, pipelines and
 * transactions.
 */
export abstract class ServerCommands<
  K extends ChainKind,
  R extends unknown[],
> extends StreamCommands<K, R> {
  /** PING: `'PONG'`, or `message` echoed back. */
  ping(message?: RedisArgument): Chained<K, R, string> {
    if (arguments.length > 1) return this.tooMany('ping', arguments.length, 1);
    return this.send('PING', message === undefined ? [] : [message], asString);
  }

  /** ECHO: `message` back. */
  echo(message: RedisArgument): Chained<K, R, string> {
    if (arguments.length > 1) return this.tooMany('echo', arguments.length, 1);
    return this.send('ECHO', [message], asString);
  }

  /**
   * INFO parsed into `{ section: { field: value } }` (section names in lower case: `server`, `memory`,
   * `keyspace`...); values stay strings as the server wrote them.
   */
  info(...sections: string[]): Chained<K, R, InfoSections> {
    return this.send('INFO', sections, asInfo);
  }

  /** DBSIZE: the number of keys in the selected database. */
  dbsize(): Chained<K, R, number> {
    if (arguments.length > 0) return this.tooMany('dbsize', arguments.length, 0);
    return this.send('DBSIZE', [], asNumber);
  }

  /** FLUSHDB: removes every key of the selected database. */
  flushdb(mode?: 'ASYNC' | 'SYNC'): Chained<K, R, 'OK'> {
    if (arguments.length > 1) return this.tooMany('flushdb', arguments.length, 1);
    return this.send('FLUSHDB', mode === undefined ? [] : [mode], asOk);
  }

  /** TIME: the server clock. */
  time(): Chained<K, R, RedisTime> {
    if (arguments.length > 0) return this.tooMany('time', arguments.length, 0);
    return this.send('TIME', [], asTime);
  }

  /** PUBLISH: how many subscribers received the message (on this node). */
  publish(channel: RedisArgument, message: RedisArgument): Chained<K, R, number> {
    if (arguments.length > 2) return this.tooMany('publish', arguments.length, 2);
    return this.send('PUBLISH', [channel, message], asNumber);
  }

  /** SPUBLISH (Redis 7+): publishes to a shard channel. */
  spublish(shardChannel: RedisArgument, message: RedisArgument): Chained<K, R, number> {
    if (arguments.length > 2) return this.tooMany('spublish', arguments.length, 2);
    return this.send('SPUBLISH', [shardChannel, message], asNumber);
  }
}
