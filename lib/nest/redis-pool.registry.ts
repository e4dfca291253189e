import type { ModulesContainer } from '@nestjs/core';
import { ConfigurationError } from '../errors/redis-pool.errors';
import { getRedisPoolOptionsToken, poolNameOfToken } from './redis.tokens';

/** The names of every pool registered in the application, in registration order, each once. */
export function registeredPoolNames(modules: ModulesContainer): string[] {
  const names = new Set<string>();
  for (const module of modules.values()) {
    for (const token of module.providers.keys()) {
      const name = poolNameOfToken(token);
      if (name !== undefined) names.add(name);
    }
  }
  return [...names];
}

/**
 * Checks that the pool called `name` is registered once in the application. Each `forRoot()`/`forRootAsync()`
 * call is a module of its own, so two with one name would open two pools, and whichever Nest resolved last would
 * be injected everywhere: a clear error at boot instead.
 * @throws ConfigurationError saying how to share one pool or name a second one.
 */
export function checkSingleRegistration(name: string, modules: ModulesContainer): void {
  const token = getRedisPoolOptionsToken(name);
  let count = 0;
  for (const module of modules.values()) if (module.providers.has(token)) count++;
  if (count <= 1) return;
  throw new ConfigurationError(
    `RedisPoolModule: pool "${name}" is registered ${count} times (forRoot/forRootAsync with the same name); ` +
      'each name may be registered once. To share one pool between modules, register it once, either global ' +
      '(isGlobal: true, the default) or in one module that re-exports RedisPoolModule and that the others ' +
      'import; to open a second pool, give it another name.',
  );
}
