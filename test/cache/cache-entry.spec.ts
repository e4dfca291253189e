import { builtinModules } from 'node:module';
import { readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

/*
 * `nestjs-redis-pool/cache` must load nothing but this package: keyv, cache-manager and @nestjs/cache-manager are
 * optional peers, so the entry may name keyv in type imports only. This follows every import that survives
 * compilation (not `import type`, nor `export type`) from lib/cache/index.ts through lib/, and lists the packages
 * they reach.
 */

const LIB = resolve(__dirname, '../../lib');

function runtimeSpecifiers(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const found: string[] = [];
  const pattern = /^(?:import|export)\s+(?!type\b)(?:[^'";]*?\bfrom\s+)?'([^']+)';/gm;
  for (let match = pattern.exec(text); match !== null; match = pattern.exec(text)) {
    // `import { type A, type B } from 'x'` is erased as well.
    if (/^import\s+\{\s*(?:type\s+\w+\s*,?\s*)+\}\s+from/.test(match[0])) continue;
    found.push(match[1]);
  }
  return found;
}

function walk(entry: string): { files: string[]; packages: string[] } {
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
      visit(target.endsWith('.ts') ? target : `${target}.ts`);
    }
  };
  visit(entry);
  return {
    files: [...files].map((file) => relative(LIB, file)).sort(),
    packages: [...packages].sort(),
  };
}

describe('the nestjs-redis-pool/cache entry', () => {
  const { files, packages } = walk(join(LIB, 'cache/index.ts'));

  it('reaches only Node built-ins at run time, not keyv, cache-manager or Nest', () => {
    const builtins = new Set([...builtinModules, ...builtinModules.map((name) => `node:${name}`)]);
    expect(packages.filter((name) => !builtins.has(name))).toEqual([]);
    expect(packages).toContain('node:events');
  });

  it('stays out of the Nest module, the pools and the rest of the client', () => {
    expect(files.filter((file) => /^(nest|health|pool|connection|sentinel)\//.test(file))).toEqual(
      [],
    );
    expect(files).toContain('cache/redis-keyv-store.ts');
  });

  it('is the entry package.json exports as ./cache', () => {
    const manifest = JSON.parse(readFileSync(join(LIB, '../package.json'), 'utf8'));
    expect(manifest.exports['./cache']).toEqual({
      types: './dist/cache/index.d.ts',
      default: './dist/cache/index.js',
    });
  });
});
