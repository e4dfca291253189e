import { Catch, HttpStatus, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import {
  AuthenticationError,
  ConnectionError,
  PoolClosedError,
  PoolExhaustedError,
  TimeoutError,
  type RedisError,
} from '../lib';

/**
 * Answers 503 Service Unavailable, rather than 500, when a request fails because Redis cannot be reached: the
 * pool fails fast while Redis is down, so clients get a quick, honest answer.
 */
@Catch(ConnectionError, TimeoutError, PoolExhaustedError, PoolClosedError, AuthenticationError)
export class RedisUnavailableFilter implements ExceptionFilter<RedisError> {
  constructor(private readonly adapterHost: HttpAdapterHost) {}

  catch(error: RedisError, host: ArgumentsHost): void {
    const status = HttpStatus.SERVICE_UNAVAILABLE;
    this.adapterHost.httpAdapter.reply(
      host.switchToHttp().getResponse(),
      {
        statusCode: status,
        error: 'Service Unavailable',
        message: `Redis is unavailable: ${error.message}`,
      },
      status,
    );
  }
}
