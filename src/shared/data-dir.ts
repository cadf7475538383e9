import { accessSync, constants, mkdirSync } from 'node:fs';

/** Creates DATA_DIR when absent; a directory this process cannot write to stops it here, naming the directory. */
export function ensureDataDir(dir: string): void {
  mkdirSync(dir, { recursive: true });
  try {
    accessSync(dir, constants.W_OK);
  } catch {
    throw new Error(`DATA_DIR ${dir} is not writable`);
  }
}
