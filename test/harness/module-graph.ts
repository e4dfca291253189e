import { builtinModules } from 'node:module';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

/** The package's source folder. */
export const LIB = resolve(__dirname, '../../lib');

const BUILTINS = new Set([...builtinModules, ...builtinModules.map((name) => `node:${name}`)]);

/** Whether `specifier` names a Node built-in module. */
export function isBuiltin(specifier: string): boolean {
  return BUILTINS.has(specifier);
}

/**
 * The specifiers of a file that TypeScript keeps in the emitted JavaScript: `import type`, `export type` and
 * specifier lists made only of `type` names are erased; side-effect imports (`import 'x'`) are kept.
 */
export function runtimeSpecifiers(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const found: string[] = [];
  const pattern = /^(?:import|export)\s+(type\s+)?([^;]*?)\s*from\s+'([^']+)'/gms;
  for (let match = pattern.exec(text); match !== null; match = pattern.exec(text)) {
    const [, typeOnly, clause, specifier] = match;
    if (typeOnly) continue;
    const names = /^\{([\s\S]*)\}$/.exec(clause.trim())?.[1];
    const allTypes =
      names !== undefined &&
      names
        .split(',')
        .map((name) => name.trim())
        .filter(Boolean)
        .every((name) => name.startsWith('type '));
    if (!allTypes) found.push(specifier);
  }
  for (const match of text.matchAll(/^import\s+'([^']+)';/gm)) found.push(match[1]);
  return found;
}

/**
 * Every file of lib/ an entry loads at run time (following the kept imports and re-exports) and every package
 * they name, built-ins included. Lazily `require`d peers are not imports, so they are not listed.
 */
export function reachableFrom(entry: string): { files: string[]; packages: string[] } {
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
  visit(resolve(LIB, entry));
  return {
    files: [...files].map((file) => relative(LIB, file)).sort(),
    packages: [...packages].sort(),
  };
}

/** The package's package.json. */
export function manifest(): {
  exports: Record<string, unknown>;
  typesVersions: Record<string, Record<string, string[]>>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
  dependencies?: Record<string, string>;
} {
  return JSON.parse(readFileSync(join(LIB, '../package.json'), 'utf8'));
}
