/**
 * Backup and restore of an embedded DATA_DIR, online: every SQLite file (`*.db`, whatever it is: the log, the read
 * store, files other features add) is copied with SQLite's backup API through its own read connection, so the
 * service keeps writing meanwhile; every other file (the head record, the evidence key, the token secret, other keys)
 * is copied as it is. A manifest names each file with its size and SHA-256.
 *
 * Order: every file but the log and the key store first, then the log (`events.db`), then the key store (`keys.db`).
 * The files before the log are witnesses of the log or derived from it (read-store checkpoints, the head record, tree
 * checkpoints over the log): copied before the log, none of it can stand past the copy of the log. A restore then starts
 * as after a clean stop: the read models catch up from their checkpoints over the events the log copy has beyond them.
 * The other order would copy checkpoints of events the log copy lacks, and the start-up checks would rightly refuse it
 * as acknowledged events lost. The key store is the other way round: the log depends on it (a subject's key is
 * committed before the act sealed under it is appended), so it is copied after the log and holds the key of every act
 * in the log copy. Copied before, a filing between the two copies left an act in the backup without its key, and the
 * service refused to start on the restored directory (found by an attack: 1 backup in 6 under load).
 *
 * Both `backup` and `restore` then check the copy as the service does at start (copied-key-store-check.ts).
 */
import Database from 'better-sqlite3';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  closeSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import type { Stats } from 'node:fs';
import { join } from 'node:path';
import { EVENT_LOG_FILE } from '../../modules/event-log/open-event-log';
import { KeyStoreMismatchError } from '../../modules/personal-data/keys/key-store.port';
import { KEY_STORE_FILE } from '../../modules/personal-data/keys/sqlite-key-store';
import { checkCopiedKeyStore } from './copied-key-store-check';

export const MANIFEST_FILE = 'manifest.json';

export interface BackupFile {
  name: string;
  kind: 'sqlite' | 'file';
  bytes: number;
  sha256: string;
}

export interface BackupManifest {
  format: 1;
  createdAt: string;
  source: string;
  /** In the order they were copied: the log, then the key store, last. */
  files: BackupFile[];
}

/** A backup that does not hold what its manifest says (a file missing, another size or hash). */
export class BackupDamagedError extends Error {
  override readonly name = 'BackupDamagedError';
  readonly exitCode = 65;
  constructor(
    readonly dir: string,
    readonly problems: string[],
  ) {
    super(`the backup in ${dir} is damaged: ${problems.join('; ')}`);
  }
}

/** A target directory that is not empty: nothing is overwritten. */
export class TargetNotEmptyError extends Error {
  override readonly name = 'TargetNotEmptyError';
  readonly exitCode = 73;
  constructor(readonly dir: string) {
    super(`${dir} is not empty: give a new or empty directory (nothing is overwritten)`);
  }
}

/**
 * SQLite's own side files are not data, and neither is a file being written under a temporary name (the head record
 * is written as `events.head.json.tmp`, then renamed over the old one): none of them is ever copied.
 */
const SKIPPED = /(-wal|-shm|-journal|\.tmp|\.restoring)$/;
/** Files that hold secrets keep mode 0600 in the backup and after a restore. */
const SECRET = /(\.pem|\.key|secret|master-key|\.jwk|\.json\.key)$/i;

/** The key and secret files of a data directory (evidence key, token secret, other keys), not the stores. */
export function keyFiles(dataDir: string): string[] {
  return dataFiles(dataDir)
    .filter((f) => f.kind === 'file' && SECRET.test(f.name))
    .map((f) => f.name);
}

export interface CopyProgress {
  file: string;
  /** Bytes of the files done so far, and of all files. */
  done: number;
  total: number;
}

/** The files of a data directory to back up, in copy order: everything else, then the log, then the key store. */
export function dataFiles(dataDir: string): Array<{ name: string; kind: 'sqlite' | 'file' }> {
  const names = readdirSync(dataDir, { withFileTypes: true })
    .filter((e) => e.isFile() && !SKIPPED.test(e.name) && !e.name.startsWith('.'))
    .map((e) => e.name)
    .sort();
  const last = [EVENT_LOG_FILE, KEY_STORE_FILE];
  const ordered = [...names.filter((n) => !last.includes(n)), ...last.filter((n) => names.includes(n))];
  return ordered.map((name) => ({ name, kind: name.endsWith('.db') ? 'sqlite' : 'file' }));
}

function statIfPresent(file: string): Stats | null {
  try {
    return statSync(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}

/** Bytes read at a time when hashing: a file is never read whole (a Buffer holds at most 2 GiB, and a log grows past it). */
const HASH_READ_BYTES = 1024 * 1024;

/** The SHA-256 of a file, read in fixed-size pieces. */
export function sha256OfFile(file: string): string {
  const hash = createHash('sha256');
  const buffer = Buffer.allocUnsafe(HASH_READ_BYTES);
  const fd = openSync(file, 'r');
  try {
    for (let read; (read = readSync(fd, buffer, 0, buffer.length, null)) > 0;) hash.update(buffer.subarray(0, read));
  } finally {
    closeSync(fd);
  }
  return hash.digest('hex');
}

function emptyOrAbsent(dir: string): boolean {
  return !existsSync(dir) || readdirSync(dir).length === 0;
}

/**
 * `onProgress` is awaited after each file's copy: the service keeps writing meanwhile, and a spec lands a filing
 * between two copies through it.
 */
export async function backupDataDir(
  dataDir: string,
  to: string,
  onProgress?: (p: CopyProgress) => void | Promise<void>,
): Promise<BackupManifest> {
  if (!existsSync(join(dataDir, EVENT_LOG_FILE)))
    throw Object.assign(new Error(`there is no event log at ${join(dataDir, EVENT_LOG_FILE)}`), { exitCode: 1 });
  if (!emptyOrAbsent(to)) throw new TargetNotEmptyError(to);
  mkdirSync(to, { recursive: true, mode: 0o700 });
  const files = dataFiles(dataDir);
  const total = files.reduce((sum, f) => sum + (statIfPresent(join(dataDir, f.name))?.size ?? 0), 0);
  let done = 0;
  const manifest: BackupManifest = { format: 1, createdAt: new Date().toISOString(), source: dataDir, files: [] };
  const copied: Array<{ name: string; kind: 'sqlite' | 'file' }> = [];
  for (const { name, kind } of files) {
    const source = join(dataDir, name);
    const target = join(to, name);
    // The service runs meanwhile: a file listed a moment ago may be gone (a role's holder file, a file another feature
    // replaced). What is gone is not part of the data directory any more; the log never goes.
    if (name !== EVENT_LOG_FILE && statIfPresent(source) === null) continue;
    if (kind === 'sqlite') {
      // A read connection of its own: in WAL mode it never blocks the service's writers. The copy is made in one step
      // (a step interrupted by another connection's write would start again), so it is the database as of one instant.
      const db = new Database(source, { readonly: true, fileMustExist: true });
      try {
        await db.backup(target, { progress: () => 0x7fffffff });
      } finally {
        db.close();
      }
      const check = new Database(target, { readonly: true });
      try {
        const result = check.pragma('quick_check', { simple: true });
        if (result !== 'ok')
          throw new BackupDamagedError(to, [`${name}: quick_check after the copy: ${String(result)}`]);
      } finally {
        check.close();
      }
    } else {
      try {
        copyFileSync(source, target);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue;
        throw error;
      }
    }
    // A source gone since its copy counts as private: the copy is never more readable than it may have been.
    const sourceStat = statIfPresent(source);
    if (SECRET.test(name) || sourceStat === null || (sourceStat.mode & 0o077) === 0) chmodSync(target, 0o600);
    copied.push({ name, kind });
    done += sourceStat?.size ?? statSync(target).size;
    await onProgress?.({ file: name, done, total });
  }
  // Whatever happened meanwhile, a backup without the log is no backup: it never gets a manifest.
  if (!copied.some((f) => f.name === EVENT_LOG_FILE))
    throw new BackupDamagedError(to, [`${EVENT_LOG_FILE}: not copied (gone from ${dataDir} during the backup?)`]);
  // A copy the service would refuse to start on gets no manifest either. Only a directory with a key store is checked:
  // one without (personal data never stored) is copied as it is, and restore's check tells what it lacks.
  if (copied.some((f) => f.name === KEY_STORE_FILE)) {
    try {
      await checkCopiedKeyStore(to);
    } catch (error) {
      if (!(error instanceof KeyStoreMismatchError)) throw error;
      throw new BackupDamagedError(to, [`${error.message}; no manifest was written: take the backup again`]);
    }
  }
  // Hashed after the check, which opens the copies: the manifest holds the bytes as they are left.
  for (const { name, kind } of copied) {
    const target = join(to, name);
    manifest.files.push({ name, kind, bytes: statSync(target).size, sha256: sha256OfFile(target) });
  }
  writeFileSync(join(to, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`, { mode: 0o600 });
  return manifest;
}

/**
 * The manifest's own text, checked for shape before anything is read by it: a damaged manifest is a damaged backup
 * (exit 65), never a crash.
 */
function parseManifest(from: string): BackupManifest {
  const file = join(from, MANIFEST_FILE);
  const stat = statIfPresent(file);
  if (stat === null)
    throw new BackupDamagedError(from, [`${MANIFEST_FILE} is missing (not a backup made by npm run cli -- backup?)`]);
  if (!stat.isFile()) throw new BackupDamagedError(from, [`${MANIFEST_FILE} is not a file`]);
  let manifest: unknown;
  try {
    manifest = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new BackupDamagedError(from, [`${MANIFEST_FILE} is not JSON (${(error as Error).message})`]);
  }
  const m = manifest as Partial<BackupManifest> | null;
  if (typeof m !== 'object' || m === null || m.format !== 1 || !Array.isArray(m.files))
    throw new BackupDamagedError(from, [`${MANIFEST_FILE} is not of format 1`]);
  const problems = m.files.flatMap((f: unknown, i) => {
    const e = f as Partial<BackupFile> | null;
    return typeof e === 'object' &&
      e !== null &&
      typeof e.name === 'string' &&
      (e.kind === 'sqlite' || e.kind === 'file') &&
      Number.isSafeInteger(e.bytes) &&
      typeof e.sha256 === 'string'
      ? []
      : [`${MANIFEST_FILE}: entry ${i} is not a file's name, kind, bytes and sha256`];
  });
  if (problems.length > 0) throw new BackupDamagedError(from, problems);
  return m as BackupManifest;
}

/** Checks a backup against its manifest: every file there, of its size and SHA-256. */
export function readVerifiedManifest(from: string): BackupManifest {
  const manifest = parseManifest(from);
  const problems: string[] = [];
  for (const f of manifest.files) {
    // A plain name of this directory only: a path, `.`/`..`, the empty name (the directory itself) or the manifest
    // would restore something other than a data file.
    if (f.name === '' || f.name === MANIFEST_FILE || /[/\\\0]/.test(f.name) || f.name.startsWith('.')) {
      problems.push(`${JSON.stringify(f.name)}: not a file name`);
      continue;
    }
    const stat = statIfPresent(join(from, f.name));
    if (stat === null) problems.push(`${f.name}: missing`);
    else if (!stat.isFile()) problems.push(`${f.name}: not a file`);
    else if (stat.size !== f.bytes) problems.push(`${f.name}: ${stat.size} bytes, the manifest says ${f.bytes}`);
    else if (sha256OfFile(join(from, f.name)) !== f.sha256)
      problems.push(`${f.name}: SHA-256 differs from the manifest's`);
  }
  if (!manifest.files.some((f) => f.name === EVENT_LOG_FILE)) problems.push(`${EVENT_LOG_FILE}: not in the backup`);
  if (problems.length > 0) throw new BackupDamagedError(from, problems);
  return manifest;
}

/** Copies a verified backup into an empty data directory, each file under a temporary name first. */
export function restoreDataDir(from: string, dataDir: string, onProgress?: (p: CopyProgress) => void): BackupManifest {
  const manifest = readVerifiedManifest(from);
  if (!emptyOrAbsent(dataDir)) throw new TargetNotEmptyError(dataDir);
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const total = manifest.files.reduce((sum, f) => sum + f.bytes, 0);
  let done = 0;
  try {
    for (const f of manifest.files) {
      const target = join(dataDir, f.name);
      copyFileSync(join(from, f.name), `${target}.restoring`);
      if ((statSync(join(from, f.name)).mode & 0o077) === 0 || SECRET.test(f.name))
        chmodSync(`${target}.restoring`, 0o600);
      if (sha256OfFile(`${target}.restoring`) !== f.sha256)
        throw new BackupDamagedError(from, [`${f.name}: the copy in ${dataDir} differs from the backup`]);
      renameSync(`${target}.restoring`, target);
      done += f.bytes;
      onProgress?.({ file: f.name, done, total });
    }
  } catch (error) {
    // Half a restore is no data directory: leave it empty for the next attempt.
    for (const f of manifest.files)
      for (const suffix of ['', '.restoring']) rmSync(join(dataDir, f.name + suffix), { force: true });
    throw error;
  }
  return manifest;
}

/**
 * A restored directory the service would refuse (its key store lacks keys its log needs) is emptied, as a half restore
 * is, for the next attempt with another backup. Everything in it is the restore's: it was new or empty.
 */
export async function refuseRestoredWithoutKeys(from: string, dataDir: string): Promise<void> {
  try {
    await checkCopiedKeyStore(dataDir);
  } catch (error) {
    if (!(error instanceof KeyStoreMismatchError)) throw error;
    for (const name of readdirSync(dataDir)) rmSync(join(dataDir, name), { recursive: true, force: true });
    throw new BackupDamagedError(from, [`${error.message}; nothing restored (${dataDir} is left empty)`]);
  }
}
