// Lets a child process started by a test run TypeScript sources directly (node -r ./test/support/swc-register.js x.ts),
// compiled with the same swc settings as jest, so durability tests exercise the real modules without a build step.
require('reflect-metadata');
const { transformSync } = require('@swc/core');
const { readFileSync } = require('node:fs');
const swcrc = JSON.parse(readFileSync(require.resolve('../../.swcrc'), 'utf8'));
require.extensions['.ts'] = function compile(module, filename) {
  const { code } = transformSync(readFileSync(filename, 'utf8'), {
    ...swcrc,
    filename,
    sourceMaps: 'inline',
    swcrc: false,
  });
  module._compile(code, filename);
};
// Sources import each other with the .js extension (node16 resolution for the build); resolve those to the .ts files.
const Module = require('node:module');
const resolve = Module._resolveFilename;
Module._resolveFilename = function resolveTs(request, parent, ...rest) {
  try {
    return resolve.call(this, request, parent, ...rest);
  } catch (error) {
    if (request.startsWith('.') && request.endsWith('.js'))
      return resolve.call(this, `${request.slice(0, -3)}.ts`, parent, ...rest);
    throw error;
  }
};
