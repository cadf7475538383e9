// Lets a child process started by a test run TypeScript sources directly (node -r ./test/support/swc-register.js x.ts),
// compiled with the same swc settings as jest, so durability tests exercise the real modules without a build step.
require('reflect-metadata');
const { transformSync } = require('@swc/core');
const { createHash } = require('node:crypto');
const { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } = require('node:fs');
const { join } = require('node:path');
const swcrc = JSON.parse(readFileSync(require.resolve('../../.swcrc'), 'utf8'));
// The suite starts a few hundred processes and threads from the sources; compiling every module in each of them was a
// fifth of a process's start. Each compiled module is kept under node_modules/.cache, named by what produced it (the
// compiler's version, its settings, the file's path and text), so a change to any of them compiles afresh.
const CACHE = join(__dirname, '../../node_modules/.cache/reglament-swc');
const OPTIONS = { ...swcrc, sourceMaps: 'inline', swcrc: false };
const SALT = `${require('@swc/core/package.json').version}\0${JSON.stringify(OPTIONS)}\0`;
/** The cache only saves time: a module is compiled and run whether or not it could be read from or written to it. */
function cachedCompile(filename, source) {
  const cached = join(
    CACHE,
    `${createHash('sha256').update(SALT).update(filename).update('\0').update(source).digest('hex')}.js`,
  );
  try {
    const code = readFileSync(cached, 'utf8');
    // An empty entry is one a crash cut short (every compiled module has at least its source map): compiled afresh.
    if (code.length > 0) return code;
  } catch {
    /* not compiled yet */
  }
  const { code } = transformSync(source, { ...OPTIONS, filename });
  // Written aside, then renamed: a process reading the cache never sees half a file from another one writing it.
  const aside = `${cached}.${process.pid}.${Math.random().toString(36).slice(2)}`;
  try {
    mkdirSync(CACHE, { recursive: true });
    writeFileSync(aside, code);
    renameSync(aside, cached);
  } catch {
    rmSync(aside, { force: true });
  }
  return code;
}
require.extensions['.ts'] = function compile(module, filename) {
  module._compile(cachedCompile(filename, readFileSync(filename, 'utf8')), filename);
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
