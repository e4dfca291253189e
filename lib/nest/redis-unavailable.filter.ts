import {
  Catch,
  HttpStatus,
  Logger,
  type ArgumentsHost,
  type ExceptionFilter,
} from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import {
  AuthenticationError,
  ConnectionError,
  PoolClosedError,
  PoolExhaustedError,
  TimeoutError,
  type RedisError,
} from '../errors/redis-pool.errors';

/** Least time between two log lines of the filter: a Redis outage is one event, not one per request. */
export const REDIS_UNAVAILABLE_LOG_INTERVAL_MS = 10_000;

/** The body of every 503 the filter sends. */
export const REDIS_UNAVAILABLE_BODY = Object.freeze({
  statusCode: HttpStatus.SERVICE_UNAVAILABLE,
  error: 'Service Unavailable',
  message: 'Redis is unavailable',
});

/**
 * An exception filter for HTTP apps: a request that failed because Redis cannot be used right now (it is down,
 * frozen, refuses the credentials, every connection is busy, or the pool is closing) gets `503 Service
 * Unavailable` with `Retry-After: 1` and a short JSON body, instead of Nest's `500 Internal server error` and a
 * stack trace in the log for every request. The pool fails fast while Redis is down, so clients get a quick,
 * honest answer; the log gets one line per outage (at most one every 10 s, with the number of requests
 * answered), and the body never shows a host name or an error text.
 *
 * Other errors (a `ResponseError` such as WRONGTYPE, a `TypeError` for a bad argument) are left to Nest. In
 * contexts other than HTTP (microservices, WebSockets) the error is rethrown.
 *
 * @example
 * ```ts
 * @Module({ providers: [{ provide: APP_FILTER, useClass: RedisUnavailableFilter }] })
 * // or: app.useGlobalFilters(new RedisUnavailableFilter(app.get(HttpAdapterHost)));
 * ```
 */
@Catch(ConnectionError, TimeoutError, PoolExhaustedError, PoolClosedError, AuthenticationError)
export class RedisUnavailableFilter implements ExceptionFilter<RedisError> {
  private readonly logger = new Logger(RedisUnavailableFilter.name);
  private lastLoggedAt = -Infinity;
  private answeredSinceLog = 0;

  constructor(private readonly adapterHost: HttpAdapterHost) {}

  catch(error: RedisError, host: ArgumentsHost): void {
    if (host.getType() !== 'http') throw error;
    this.note(error);
    const adapter = this.adapterHost.httpAdapter;
    const response: unknown = host.switchToHttp().getResponse();
    adapter.setHeader(response, 'Retry-After', '1');
    adapter.reply(response, { ...REDIS_UNAVAILABLE_BODY }, HttpStatus.SERVICE_UNAVAILABLE);
  }

  /** One log line per outage, not per request. */
  private note(error: RedisError): void {
    this.answeredSinceLog++;
    const now = Date.now();
    if (now - this.lastLoggedAt < REDIS_UNAVAILABLE_LOG_INTERVAL_MS) return;
    const count = this.answeredSinceLog;
    this.lastLoggedAt = now;
    this.answeredSinceLog = 0;
    this.logger.warn(
      `Answered 503 to ${count === 1 ? 'a request' : `${count} requests`} while Redis is unavailable ` +
        `(${error.name}: ${error.message})`,
    );
  }
}
