import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Every README code block announced by `<!-- tested-by: path#name -->` must be, line for line, the code between
 * `// --- README name start ---` and `// --- README name end ---` in that test file, apart from import lines and
 * a leading `export ` (the README shows module code; the tests declare it inside a test).
 */
const root = join(__dirname, '..');
const readme = readFileSync(join(root, 'README.md'), 'utf8');

function normalise(code: string): string[] {
  const lines = code.split('\n');
  const indent = Math.min(
    ...lines.filter((l) => l.trim() !== '').map((l) => l.length - l.trimStart().length),
  );
  return lines
    .map((l) =>
      l
        .slice(indent)
        .replace(/^export /, '')
        .trimEnd(),
    )
    .filter((l) => !/^import .* from '.*';$/.test(l))
    .join('\n')
    .trim()
    .split('\n');
}

const blocks = [...readme.matchAll(/<!-- tested-by: ([^#]+)#(\S+) -->\s*```ts\n([\s\S]*?)```/g)];

describe('README examples', () => {
  it('announces the examples it keeps tested', () => {
    expect(blocks.map((b) => b[2])).toEqual(expect.arrayContaining(['core', 'nest', 'tour']));
  });

  it.each(blocks.map((b) => [b[2], b[1], b[3]]))(
    '%s is exactly the code %s runs',
    (name, file, block) => {
      const source = readFileSync(join(root, file), 'utf8');
      const start = source.indexOf(`// --- README ${name} start ---`);
      const end = source.indexOf(`// --- README ${name} end ---`);
      expect(start).toBeGreaterThan(-1);
      expect(end).toBeGreaterThan(start);
      const tested = source.slice(source.indexOf('\n', start) + 1, end);
      expect(normalise(block)).toEqual(normalise(tested));
    },
  );
});
