import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';

/*
 * What the npm tarball carries besides the code: the licence, and source maps that resolve without lib/ (their
 * sources are inlined). The build goes to a temp outDir, never dist/, so parallel builds never race.
 */
const ROOT = join(__dirname, '..', '..');
const run = promisify(execFile);

interface PackedFile {
  path: string;
}

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}

describe('the npm package', () => {
  it('ships the MIT licence next to package.json and README.md, and nothing from lib/ or test/', async () => {
    const { stdout } = await run('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
      cwd: ROOT,
      maxBuffer: 64 * 1024 * 1024,
    });
    const [packed] = JSON.parse(stdout) as Array<{ files: PackedFile[] }>;
    const paths = packed!.files.map((file) => file.path);
    expect(paths).toEqual(expect.arrayContaining(['LICENSE', 'README.md', 'package.json']));
    expect(paths.filter((path) => !path.startsWith('dist/')).sort()).toEqual([
      'LICENSE',
      'README.md',
      'package.json',
    ]);
    const licence = await readFile(join(ROOT, 'LICENSE'), 'utf8');
    expect(licence).toMatch(
      /^MIT License\n\nCopyright \(c\) 2026 nestjs-redis-pool contributors\n/,
    );
    const manifest = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as {
      license: string;
    };
    expect(manifest.license).toBe('MIT');
  });

  describe('built with tsconfig.build.json', () => {
    let outDir: string;

    beforeAll(async () => {
      await mkdir(join(ROOT, '.tmp'), { recursive: true });
      outDir = await mkdtemp(join(ROOT, '.tmp', 'build-'));
      // The build's own settings, for the testing entry and everything it imports (the whole of lib/ is
      // slower and may not compile while someone is mid-change elsewhere).
      const config = join(outDir, 'tsconfig.json');
      await writeFile(
        config,
        JSON.stringify({
          extends: join(ROOT, 'tsconfig.build.json'),
          compilerOptions: { outDir: join(outDir, 'dist') },
          include: [join(ROOT, 'lib', 'testing')],
        }),
      );
      await run(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', config]);
    }, 120_000);

    afterAll(async () => {
      await rm(outDir, { recursive: true, force: true });
    });

    it('gives every .js a source map that carries its TypeScript source', async () => {
      const dist = join(outDir, 'dist');
      const scripts = (await filesUnder(dist)).filter((path) => path.endsWith('.js'));
      expect(scripts.map((path) => relative(dist, path))).toContain('testing/start-test-redis.js');
      for (const script of scripts) {
        const code = await readFile(script, 'utf8');
        const name = script.slice(script.lastIndexOf('/') + 1);
        expect(code.trimEnd().endsWith(`//# sourceMappingURL=${name}.map`)).toBe(true);
        const map = JSON.parse(await readFile(`${script}.map`, 'utf8')) as {
          sources: string[];
          sourcesContent?: Array<string | null>;
        };
        expect(map.sources).toHaveLength(1);
        const source = join(dist, relative(dist, join(script, '..')), map.sources[0]!);
        expect(map.sourcesContent).toEqual([await readFile(source, 'utf8')]);
      }
    });

    it('ships no declaration maps, whose sources (lib/*.ts) are not in the package', async () => {
      const maps = (await filesUnder(join(outDir, 'dist'))).filter((p) => p.endsWith('.d.ts.map'));
      expect(maps).toEqual([]);
    });

    it('builds the file package.json exports as nestjs-redis-pool/testing, which loads no dependency', async () => {
      const manifest = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as {
        exports: Record<string, { default: string; types: string }>;
      };
      const entry = manifest.exports['./testing']!;
      const file = join(outDir, entry.default);
      const { stdout } = await run(process.execPath, [
        '-e',
        `const t = require(${JSON.stringify(file)});
         const loaded = Object.keys(require.cache).filter((p) => p.includes('node_modules'));
         console.log(JSON.stringify({ startTestRedis: typeof t.startTestRedis, loaded }));`,
      ]);
      expect(JSON.parse(stdout)).toEqual({ startTestRedis: 'function', loaded: [] });
      await expect(readFile(join(outDir, entry.types), 'utf8')).resolves.toContain(
        'startTestRedis',
      );
    });
  });
});
