/**
 * Backup and restore of an embedded DATA_DIR, online: every SQLite file (`*.db`, whatever it is: the log, the read
 * store, files other features add) is copied with SQLite's backup API through its own read connection, so the
 * service keeps writing meanwhile; every other file (the head record, the evidence key, the token secret, other keys)
 * is copied as it is. A manifest names each file with its size and SHA-256.
 *
 * Order: every file but the log first, the log (`events.db`) last. Everything else is a witness of the log or derived
 * from it (read-store checkpoints, the head record, tree checkpoints over the log): copied before the log, none of it
 * can stand past the copy of the log. A restore then starts as after a clean stop: the read models catch up from their
 * checkpoints over the events the log copy has beyond them. The other order would copy checkpoints of events the log
 * copy lacks, and the start-up checks would rightly refuse it as acknowledged events lost.
 */
import Database from 'better-sqlite3';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { EVENT_LOG_FILE } from '../../modules/event-log/open-event-log';

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
  /** In the order they were copied: the log last. */
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

/** The files of a data directory to back up, in copy order: everything but the log, then the log. */
export function dataFiles(dataDir: string): Array<{ name: string; kind: 'sqlite' | 'file' }> {
  const names = readdirSync(dataDir, { withFileTypes: true })
    .filter((e) => e.isFile() && !SKIPPED.test(e.name) && !e.name.startsWith('.'))
    .map((e) => e.name)
    .sort();
  const ordered = [...names.filter((n) => n !== EVENT_LOG_FILE), ...names.filter((n) => n === EVENT_LOG_FILE)];
  return ordered.map((name) => ({ name, kind: name.endsWith('.db') ? 'sqlite' : 'file' }));
}

function statIfPresent(file: string): { size: number; mode: number } | null {
  try {
    return statSync(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}

function sha256Of(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

function emptyOrAbsent(dir: string): boolean {
  return !existsSync(dir) || readdirSync(dir).length === 0;
}

export async function backupDataDir(
  dataDir: string,
  to: string,
  onProgress?: (p: CopyProgress) => void,
): Promise<BackupManifest> {
  if (!existsSync(join(dataDir, EVENT_LOG_FILE)))
    throw Object.assign(new Error(`there is no event log at ${join(dataDir, EVENT_LOG_FILE)}`), { exitCode: 1 });
  if (!emptyOrAbsent(to)) throw new TargetNotEmptyError(to);
  mkdirSync(to, { recursive: true, mode: 0o700 });
  const files = dataFiles(dataDir);
  const total = files.reduce((sum, f) => sum + (statIfPresent(join(dataDir, f.name))?.size ?? 0), 0);
  let done = 0;
  const manifest: BackupManifest = { format: 1, createdAt: new Date().toISOString(), source: dataDir, files: [] };
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
    const bytes = statSync(target).size;
    manifest.files.push({ name, kind, bytes, sha256: sha256Of(target) });
    done += sourceStat?.size ?? bytes;
    onProgress?.({ file: name, done, total });
  }
  // Whatever happened meanwhile, a backup without the log is no backup: it never gets a manifest.
  if (!manifest.files.some((f) => f.name === EVENT_LOG_FILE))
    throw new BackupDamagedError(to, [`${EVENT_LOG_FILE}: not copied (gone from ${dataDir} during the backup?)`]);
  writeFileSync(join(to, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`, { mode: 0o600 });
  return manifest;
}

/** Checks a backup against its manifest: every file there, of its size and SHA-256. */
export function readVerifiedManifest(from: string): BackupManifest {
  const file = join(from, MANIFEST_FILE);
  if (!existsSync(file))
    throw new BackupDamagedError(from, [`${MANIFEST_FILE} is missing (not a backup made by npm run cli -- backup?)`]);
  const manifest = JSON.parse(readFileSync(file, 'utf8')) as BackupManifest;
  if (manifest.format !== 1 || !Array.isArray(manifest.files))
    throw new BackupDamagedError(from, [`${MANIFEST_FILE} is not of format 1`]);
  const problems: string[] = [];
  for (const f of manifest.files) {
    if (f.name.includes('/') || f.name.includes('\\') || f.name.startsWith('.')) {
      problems.push(`${f.name}: not a file name`);
      continue;
    }
    const path = join(from, f.name);
    if (!existsSync(path)) problems.push(`${f.name}: missing`);
    else if (statSync(path).size !== f.bytes)
      problems.push(`${f.name}: ${statSync(path).size} bytes, the manifest says ${f.bytes}`);
    else if (sha256Of(path) !== f.sha256) problems.push(`${f.name}: SHA-256 differs from the manifest's`);
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
      if (sha256Of(`${target}.restoring`) !== f.sha256)
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
