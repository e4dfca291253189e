import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

/*
 * `nestjs-redis-pool/throttler` must load nothing of `@nestjs/throttler` (an optional peer) nor of the rest of
 * the package beyond what it runs: this follows every import and re-export from lib/throttler/index.ts that
 * survives compilation (`import type`, `export type` and all-`type` specifier lists are erased) and lists what
 * it reaches.
 */

const LIB = resolve(__dirname, '../../lib');

/** Runtime specifiers of a file: the ones TypeScript keeps in the emitted JavaScript. */
function runtimeSpecifiers(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const found: string[] = [];
  const pattern = /\b(?:import|export)\s+(type\s+)?([^;]*?)\s*from\s+'([^']+)'/gs;
  for (let match = pattern.exec(text); match !== null; match = pattern.exec(text)) {
    const [, typeOnly, clause, specifier] = match;
    if (typeOnly) continue;
    const names = /^\{([\s\S]*)\}$/.exec(clause.trim())?.[1];
    const allTypes =
      names !== undefined &&
      names
        .split(',')
        .map((n) => n.trim())
        .filter(Boolean)
        .every((n) => n.startsWith('type '));
    if (!allTypes) found.push(specifier);
  }
  for (const match of text.matchAll(/^import\s+'([^']+)';/gm)) found.push(match[1]);
  return found;
}

function reachable(entry: string): { files: string[]; packages: string[] } {
  const files = new Set<string>();
  const packages = new Set<string>();
  const visit = (file: string): void => {
    if (files.has(file)) return;
    files.add(file);
    for (const specifier of runtimeSpecifiers(file)) {
      if (!specifier.startsWith('.')) {
        packages.add(specifier);
        continue;
      }
      const target = resolve(dirname(file), specifier);
      const candidate = [`${target}.ts`, join(target, 'index.ts')].find((c) => existsSync(c));
      if (candidate === undefined) throw new Error(`${file}: cannot resolve ${specifier}`);
      visit(candidate);
    }
  };
  visit(entry);
  return { files: [...files].map((f) => relative(LIB, f)).sort(), packages: [...packages].sort() };
}

describe('nestjs-redis-pool/throttler entry point', () => {
  it('loads no package at run time (@nestjs/throttler is imported for its types only)', () => {
    const { files, packages } = reachable(join(LIB, 'throttler/index.ts'));
    expect(packages).toEqual([]);
    expect(files).toEqual([
      'errors/redis-pool.errors.ts',
      'throttler/index.ts',
      'throttler/redis-throttler.storage.ts',
      'throttler/throttler-increment.lua.ts',
      'throttler/throttler-keys.ts',
      'throttler/throttler-storage.options.ts',
    ]);
    const source = readFileSync(join(LIB, 'throttler/redis-throttler.storage.ts'), 'utf8');
    expect(source).toMatch(/^import type \{ ThrottlerStorage \} from '@nestjs\/throttler';$/m);
  });
});
