import { Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { NestFactory } from '@nestjs/core';
import { RedisService, maskUrl } from '../lib';
import { AppModule } from './app.module';
import { redisUrlFrom } from './redis.config';

const logger = new Logger('Sample');

async function bootstrap(): Promise<void> {
  const app = await NestFactory.create(AppModule);
  // SIGINT/SIGTERM run app.close(): the HTTP server stops, then every Redis pool drains and closes.
  app.enableShutdownHooks();
  const port = Number(process.env.PORT ?? 3000);
  await app.listen(port);

  const base = `http://localhost:${port}`;
  logger.log(
    [
      `Listening on ${base}. Try:`,
      `  curl ${base}/visits        a visit counter (INCR)`,
      `  curl ${base}/greeting      cached by CacheInterceptor in Redis for 10 s`,
      `  curl ${base}/limited       rate-limited in Redis: the 4th request in 10 s gets 429`,
      `  curl ${base}/catalog/42    a cached lookup on the "cache" pool`,
      `  curl ${base}/stats         the same pool seen from another module`,
      `  curl ${base}/health        Terminus health check of both pools`,
      'Stop with Ctrl+C (graceful shutdown).',
    ].join('\n'),
  );

  // The pools are lazy: the app is up whether or not Redis is. Check once, to tell a newcomer what to do.
  const url = redisUrlFrom(app.get(ConfigService));
  try {
    await app.get(RedisService).pool.execute('PING', [], { timeoutMs: 2000 });
  } catch (error) {
    logger.warn(
      [
        `Redis is not reachable at ${maskUrl(url)} (${error instanceof Error ? error.message : String(error)}).`,
        '  Start one locally:      redis-server   (or: docker run --rm -p 6379:6379 redis:7)',
        '  Or use another server:  REDIS_URL=redis://host:6379 npm run sample',
        'The sample keeps running: Redis endpoints and /health answer 503 until Redis is reachable,',
        'then recover by themselves.',
      ].join('\n'),
    );
  }
}

bootstrap().catch((error: unknown) => {
  logger.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
  process.exitCode = 1;
});
