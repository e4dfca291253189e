import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

/*
 * The command helpers are a chain of abstract classes that `Pipeline` and `Multi` extend, and their return types
 * name `Pipeline` and `Multi`: an import of either from inside the chain (type imports included) closes a cycle.
 * This walks every relative import and export under lib/ (`import type` too) and fails on any cycle through
 * lib/client.
 */

const LIB = resolve(__dirname, '../../lib');
const CLIENT = join(LIB, 'client');

function sourceFiles(dir: string): string[] {
  const files: string[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) files.push(...sourceFiles(path));
    else if (name.endsWith('.ts')) files.push(path);
  }
  return files;
}

/** Relative specifiers of `import ... from`, `import '...'`, `export ... from` and `import('...')`. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const found: string[] = [];
  const pattern = /(?:\bfrom\s+|\bimport\s+|\bimport\s*\(\s*)'(\.[^']*)'/g;
  for (let match = pattern.exec(text); match !== null; match = pattern.exec(text)) {
    const target = resolve(dirname(file), match[1]);
    for (const candidate of [`${target}.ts`, join(target, 'index.ts'), target]) {
      if (candidate.endsWith('.ts') && graph.has(candidate)) {
        found.push(candidate);
        break;
      }
    }
  }
  return found;
}

const graph = new Map<string, string[]>(sourceFiles(LIB).map((file) => [file, []]));
for (const file of graph.keys()) graph.set(file, importsOf(file));

function cycles(): string[][] {
  const found: string[][] = [];
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (file: string): void => {
    state.set(file, 'open');
    stack.push(file);
    for (const next of graph.get(file) ?? []) {
      if (state.get(next) === 'open') found.push([...stack.slice(stack.indexOf(next)), next]);
      else if (state.get(next) === undefined) visit(next);
    }
    stack.pop();
    state.set(file, 'done');
  };
  for (const file of graph.keys()) if (state.get(file) === undefined) visit(file);
  return found;
}

describe('lib/client import graph', () => {
  it('sees the imports it is meant to check (type imports and side-effect imports included)', () => {
    const runner = join(CLIENT, 'command-runner.ts');
    const iterator = join(CLIENT, 'scan-iterator.ts');
    expect(graph.get(runner)).toContain(join(CLIENT, 'command-types.ts'));
    expect(graph.get(iterator)).toContain(join(CLIENT, 'chain-targets.ts'));
    expect(graph.get(join(CLIENT, 'chain-targets.ts'))).toContain(join(CLIENT, 'pipeline.ts'));
  });

  it('has no import cycle through lib/client, type imports included', () => {
    const throughClient = cycles()
      .filter((cycle) => cycle.some((file) => file.startsWith(CLIENT)))
      .map((cycle) => cycle.map((file) => relative(LIB, file)).join(' > '));
    expect(throughClient).toEqual([]);
  });
});
