import { accessSync, constants, existsSync, mkdirSync, statSync } from 'node:fs';
import { isMainThread } from 'node:worker_threads';

/**
 * DATA_DIR holds personal data in clear (the read models until erasure), the log and the keys: it is created 0700 and
 * the files in it 0600, readable by this process's user alone. Files made beside it (temporary files, a lock's
 * journal) and by whoever creates them (SQLite's WAL and shared-memory files) are kept so by the process's umask.
 */
export const DATA_DIR_MODE = 0o700;
export const DATA_FILE_MODE = 0o600;

/**
 * Every file and directory this process creates from now on is its user's alone (umask 0077 added to the one it has):
 * called first by each entry point that opens a data directory (the API, its projection process, the worker, the CLI).
 * Worker threads share their process's umask and cannot set it.
 */
export function keepCreatedFilesPrivate(): void {
  if (!isMainThread) return;
  const before = process.umask(0o077);
  process.umask(before | 0o077);
}

interface Warner {
  warn(fields: Record<string, unknown>, message: string): void;
}

/**
 * Creates DATA_DIR when absent (0700, parents included); a directory this process cannot write to stops it here,
 * naming the directory. An existing one its group or others may enter is left as it is (the operator's to decide),
 * with a warning.
 */
export function ensureDataDir(dir: string, logger?: Warner): void {
  const existed = existsSync(dir);
  mkdirSync(dir, { recursive: true, mode: DATA_DIR_MODE });
  try {
    accessSync(dir, constants.W_OK);
  } catch {
    throw new Error(`DATA_DIR ${dir} is not writable`);
  }
  const mode = statSync(dir).mode & 0o777;
  if (existed && mode & 0o077)
    logger?.warn(
      { dataDir: dir, mode: mode.toString(8) },
      `DATA_DIR ${dir} may be entered by its group or others (mode ${mode.toString(8)}): it holds personal data, the log and the keys; chmod 700 it`,
    );
}
