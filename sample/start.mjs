// `npm run sample`: compiles the sample (and the package source it imports from ../lib) with tsc, then runs it in
// this process, so Ctrl+C reaches Nest's shutdown hooks directly.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');

console.log('Compiling the sample: tsc -p sample/tsconfig.json');
const build = spawnSync(process.execPath, [tsc, '-p', join(root, 'sample', 'tsconfig.json')], {
  cwd: root,
  stdio: 'inherit',
});
if (build.error !== undefined || build.status !== 0) {
  console.error(
    build.error !== undefined
      ? `Could not run tsc (${build.error.message}); run npm install first.`
      : 'The sample did not compile; see the errors above.',
  );
  process.exit(1);
}

await import(pathToFileURL(join(root, '.tmp', 'dist-sample', 'sample', 'main.js')).href);
