import Database from 'better-sqlite3';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { DATA_DIR_MODE, DATA_FILE_MODE } from '../data-dir';
import { createPrivately } from './open-sqlite-file';

/**
 * What one process does on a data directory that no second process may do at the same time: write the embedded
 * event log (the API), or run the projections (the worker, or an inline API's projection process).
 */
export type ProcessRole = 'log-writer' | 'projections';

const ROLE_WORDS: Record<ProcessRole, string> = {
  'log-writer': 'writes its event log (an API process, or a command that appends)',
  projections: 'runs its projections (a worker, or the projection process of an API with PROJECTIONS=inline)',
};

/** EX_TEMPFAIL: another process holds the role; it can be started once that one has stopped. */
export const EXIT_ROLE_HELD = 75;

export interface LockHolder {
  pid: number;
  role: ProcessRole;
  host: string;
  command: string;
  since: string;
}

export class RoleLockedError extends Error {
  override readonly name = 'RoleLockedError';
  readonly exitCode = EXIT_ROLE_HELD;
  constructor(
    readonly dataDir: string,
    readonly role: ProcessRole,
    readonly holder: LockHolder | null,
  ) {
    super(
      `another process already ${ROLE_WORDS[role]} on ${dataDir}: ` +
        (holder
          ? `pid ${holder.pid} on ${holder.host} (${holder.command}), since ${holder.since}`
          : 'its pid is not recorded') +
        `. Stop it first; the documented pair is one API with PROJECTIONS=off and one \`npm run start:worker\`.`,
    );
  }
}

export interface RoleLock {
  readonly role: ProcessRole;
  release(): void;
}

/** Where the lock files of a data directory are kept. */
export const lockDir = (dataDir: string): string => join(dataDir, 'locks');

/**
 * Takes a role on a data directory for the life of this process, or throws RoleLockedError naming the holder.
 *
 * The lock is SQLite's exclusive lock on a small database (POSIX advisory locks underneath): the operating system
 * drops it when the holding process dies, however it dies, so a SIGKILL leaves no stale lock behind, and SQLite also
 * refuses a second connection of the same process. The holder's pid beside it is only for the message.
 */
export function acquireRoleLock(
  dataDir: string,
  role: ProcessRole,
  command = programOf(process.argv) || process.title,
): RoleLock {
  return tryRoleLock(dataDir, role, command);
}

/**
 * The program and its command as the holder file names them (`dist/cli/main.js erase`), without their arguments: the
 * file stays in the data directory, and an argument may be personal data (`erase --iin …`, `--by`, `--basis`).
 */
export function programOf(argv: readonly string[]): string {
  const [, script, command] = argv;
  return [script, command && !command.startsWith('-') ? command : undefined].filter(Boolean).join(' ');
}

/**
 * As acquireRoleLock, waiting up to `waitMs` for a holder that is on its way out: the projection process of an API
 * killed outright leaves when it notices, a moment after a new API may already have started its own.
 */
export async function acquireRoleLockWaiting(
  dataDir: string,
  role: ProcessRole,
  command: string,
  waitMs: number,
): Promise<RoleLock> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    try {
      return tryRoleLock(dataDir, role, command);
    } catch (error) {
      if (!(error instanceof RoleLockedError) || Date.now() >= deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

function tryRoleLock(dataDir: string, role: ProcessRole, command: string): RoleLock {
  const dir = lockDir(dataDir);
  mkdirSync(dir, { recursive: true, mode: DATA_DIR_MODE });
  const file = join(dir, `${role}.lock`);
  const holderFile = join(dir, `${role}.holder.json`);
  createPrivately(file);
  const db = new Database(file, { timeout: 0 });
  try {
    db.pragma('journal_mode = DELETE');
    db.pragma('locking_mode = EXCLUSIVE');
    db.exec('CREATE TABLE IF NOT EXISTS holder (pid INTEGER)');
    // In exclusive locking mode the first write takes the lock and keeps it until the connection closes.
    db.exec('BEGIN EXCLUSIVE');
    db.prepare('DELETE FROM holder').run();
    db.prepare('INSERT INTO holder (pid) VALUES (?)').run(process.pid);
    db.exec('COMMIT');
  } catch (error) {
    db.close();
    if ((error as { code?: string }).code === 'SQLITE_BUSY' || (error as { code?: string }).code === 'SQLITE_LOCKED') {
      throw new RoleLockedError(dataDir, role, readHolder(holderFile));
    }
    throw error;
  }
  const holder: LockHolder = {
    pid: process.pid,
    role,
    host: hostname(),
    command: command.slice(0, 200),
    since: new Date().toISOString(),
  };
  writeFileSync(`${holderFile}.tmp`, JSON.stringify(holder), { mode: DATA_FILE_MODE });
  renameSync(`${holderFile}.tmp`, holderFile);
  let released = false;
  return {
    role,
    release() {
      if (released) return;
      released = true;
      db.close();
    },
  };
}

function readHolder(file: string): LockHolder | null {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as LockHolder;
  } catch {
    return null;
  }
}
