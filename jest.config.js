// Nest 12 ships ESM only; Jest on Node 20 loads CommonJS, so swc transforms those packages too.
const esmPackages = [
  '@nestjs',
  'jose',
  'content-disposition',
  'file-type',
  'strtok3',
  'token-types',
  'uint8array-extras',
  '@tokenizer',
  'load-esm',
  'canonicalize',
];
/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/src', '<rootDir>/test'],
  testMatch: ['**/*.spec.ts'],
  setupFiles: ['reflect-metadata'],
  globalSetup: '<rootDir>/test/support/temp-root.setup.js',
  globalTeardown: '<rootDir>/test/support/temp-root.teardown.js',
  transform: {
    '^.+\\.(t|j|mj|cj)sx?$': [
      '@swc/jest',
      {
        jsc: {
          parser: { syntax: 'typescript', decorators: true },
          transform: { legacyDecorator: true, decoratorMetadata: true },
          target: 'es2022',
          keepClassNames: true,
        },
        module: { type: 'commonjs' },
      },
    ],
  },
  transformIgnorePatterns: [`/node_modules/(?!(${esmPackages.join('|')})/)`],
  moduleFileExtensions: ['ts', 'js', 'mjs', 'cjs', 'json'],
  // Dynamic imports in the sources name the .js file the build emits (node16 resolution wants the extension); under jest
  // the module is the .ts source beside it. The path without its extension finds either.
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  testTimeout: 30000,
  // Child processes killed with SIGKILL and Nest's fastify keep-alive sockets can outlive a suite by seconds; do not let them hold CI.
  forceExit: true,
};
