import { dirname, extname, join } from 'node:path';

/**
 * A module started in a thread or process of its own, named beside the module that starts it (`caller`: that
 * module's `__filename`). Under `dist/` it is the compiled .js and nothing needs registering; run from the TypeScript
 * sources (jest, a test's child process), nothing in the new thread or process can load TypeScript, so it first
 * registers the compiler the tests use (test/support/swc-register.js).
 */
export function runnableSource(caller: string, name: string): { file: string; register: string | null } {
  const ext = extname(caller);
  return {
    file: join(dirname(caller), `${name}${ext}`),
    register: ext === '.ts' ? join(__dirname, '../../test/support/swc-register.js') : null,
  };
}
