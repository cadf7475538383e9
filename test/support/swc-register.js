// Lets a child process started by a test run TypeScript sources directly (node -r ./test/support/swc-register.js x.ts),
// compiled with the same swc settings as jest, so durability tests exercise the real modules without a build step.
require('reflect-metadata');
const { transformSync } = require('@swc/core');
const { readFileSync } = require('node:fs');
const swcrc = JSON.parse(readFileSync(require.resolve('../../.swcrc'), 'utf8'));
require.extensions['.ts'] = function compile(module, filename) {
  const { code } = transformSync(readFileSync(filename, 'utf8'), { ...swcrc, filename, sourceMaps: 'inline', swcrc: false });
  module._compile(code, filename);
};
