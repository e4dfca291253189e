// Lets a child `node` process require the TypeScript sources under lib/ directly, compiled by @swc/core the
// way jest compiles them, so a test can watch a real process start, work and exit on its own.
const { readFileSync } = require('node:fs');
const Module = require('node:module');
const { transformSync } = require('@swc/core');

const options = {
  jsc: {
    parser: { syntax: 'typescript', decorators: true },
    transform: { legacyDecorator: true, decoratorMetadata: true },
    target: 'es2022',
  },
  module: { type: 'commonjs' },
  sourceMaps: 'inline',
};

Module._extensions['.ts'] = (module, filename) => {
  const { code } = transformSync(readFileSync(filename, 'utf8'), { ...options, filename });
  module._compile(code, filename);
};

// `HIDE_PACKAGES=a,b` makes those packages unresolvable, as if they were not installed.
const hidden = new Set((process.env.HIDE_PACKAGES ?? '').split(',').filter(Boolean));
if (hidden.size > 0) {
  const resolve = Module._resolveFilename;
  Module._resolveFilename = function (request, ...rest) {
    const name = request.startsWith('@')
      ? request.split('/').slice(0, 2).join('/')
      : request.split('/')[0];
    if (hidden.has(name)) {
      const error = new Error(`Cannot find module '${request}'`);
      error.code = 'MODULE_NOT_FOUND';
      throw error;
    }
    return resolve.call(this, request, ...rest);
  };
}
