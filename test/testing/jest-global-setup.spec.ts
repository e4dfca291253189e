import { spawn } from 'node:child_process';
import { cp, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';

import { canBind, waitFor, waitUntilGone } from './process-checks';

/*
 * The README's jest set-up for a Nest 12 app, really run: fixtures/jest-app (its jest.config.js, globalSetup and
 * globalTeardown as the README shows them, and a Nest e2e test) is copied into a scratch project where
 * `nestjs-redis-pool` resolves to this package's sources, and a separate `jest` runs it.
 */
const ROOT = join(__dirname, '..', '..');
const FIXTURE = join(__dirname, 'fixtures', 'jest-app');
const JEST_BIN = require.resolve('jest/bin/jest');
const RUN_TIMEOUT_MS = 150_000;

/** Fixture imports point at ../lib; the scratch project imports the package by name, as a user's app does. */
async function copyAsUserProject(from: string, to: string): Promise<void> {
  await cp(from, to, { recursive: true });
  for (const name of await readdir(join(to, 'test'))) {
    const path = join(to, 'test', name);
    const text = await readFile(path, 'utf8');
    await writeFile(path, text.replace(/'(?:\.\.\/)+lib(\/testing)?'/g, "'nestjs-redis-pool$1'"));
  }
}

/** `node_modules/nestjs-redis-pool` with the package's two entries mapped onto lib/*.ts (jest compiles them). */
async function linkPackageToSources(project: string): Promise<void> {
  const dir = join(project, 'node_modules', 'nestjs-redis-pool');
  await mkdir(dir, { recursive: true });
  const exports = { '.': './index.js', './testing': './testing.js' };
  await writeFile(
    join(dir, 'package.json'),
    JSON.stringify({ name: 'nestjs-redis-pool', exports }),
  );
  const entry = (path: string): string => `module.exports = require(${JSON.stringify(path)});\n`;
  await writeFile(join(dir, 'index.js'), entry(join(ROOT, 'lib', 'index.ts')));
  await writeFile(join(dir, 'testing.js'), entry(join(ROOT, 'lib', 'testing', 'index.ts')));
}

function runJest(
  cwd: string,
  env: NodeJS.ProcessEnv,
): Promise<{ status: number | string; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [JEST_BIN, '--ci', '--config', 'jest.config.js'], {
      cwd,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    const collect = (chunk: Buffer): void => {
      output += chunk.toString();
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    const timer = setTimeout(() => child.kill('SIGKILL'), RUN_TIMEOUT_MS);
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ status: code ?? signal ?? 'unknown', output });
    });
  });
}

describe('the README jest globalSetup/globalTeardown with a Nest 12 app', () => {
  it('shows the jest.config.js this test runs', async () => {
    const readme = await readFile(join(ROOT, 'README.md'), 'utf8');
    const shown = /```js\n(\/\/ jest\.config\.js[\s\S]*?)```/.exec(readme);
    expect(shown?.[1]).toBe(await readFile(join(FIXTURE, 'jest.config.js'), 'utf8'));
  });

  let project: string;

  beforeAll(async () => {
    // Under the repository, so the project finds jest, @swc/jest and Nest in its node_modules.
    await mkdir(join(ROOT, '.tmp'), { recursive: true });
    project = await mkdtemp(join(ROOT, '.tmp', 'jest-app-'));
    await copyAsUserProject(FIXTURE, project);
    await linkPackageToSources(project);
  });

  afterAll(async () => {
    await rm(project, { recursive: true, force: true });
  });

  it(
    'passes, with REDIS_URL from the globalSetup, and leaves no redis-server running',
    async () => {
      const report = join(project, 'redis-pid.txt');
      const env: NodeJS.ProcessEnv = { ...process.env, JEST_APP_REPORT: report };
      delete env.REDIS_URL;
      delete env.JEST_WORKER_ID;
      const { status, output } = await runJest(project, env);
      expect({ status, output }).toEqual({
        status: 0,
        output: expect.stringMatching(/Tests: +1 passed, 1 total/),
      });
      expect(output).toContain(
        `PASS ${relative(project, join(project, 'test', 'app.e2e-spec.ts'))}`,
      );
      const { pid, port } = JSON.parse(await readFile(report, 'utf8')) as {
        pid: number;
        port: number;
      };
      expect(pid).toBeGreaterThan(0);
      // jest exited by itself after globalTeardown: the server it started is gone and its port free.
      expect(await waitUntilGone(pid, 2_000)).toBe(true);
      expect(await waitFor(() => canBind(port), 2_000)).toBe(true);
    },
    RUN_TIMEOUT_MS + 10_000,
  );
});
