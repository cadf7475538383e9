import { closeSync, fsyncSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { open, rename, rm } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join } from 'node:path';
import { DATA_FILE_MODE } from '../../../shared/data-dir';

/**
 * The last head of the embedded log known to be acknowledged, kept in a small file beside the log: a witness the
 * log file cannot take down with it. SQLite drops WAL frames after a damaged one without a word, and an older copy
 * of events.db looks as healthy as the current one; comparing the log with this record on start tells both.
 */
export interface HeadRecord {
  position: number;
  eventId: string;
  writtenAt: string;
}

/** `events.db` → `events.head.json`, beside it. */
export const headRecordFile = (logFile: string): string =>
  join(dirname(logFile), `${basename(logFile).replace(/\.db$/, '')}.head.json`);

/** How often, at most, the record follows the commits: the window of acknowledged events it may not cover yet. */
export const HEAD_RECORD_INTERVAL_MS = 50;

export function readHeadRecord(file: string): HeadRecord | null {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
  let parsed: Partial<HeadRecord>;
  try {
    parsed = JSON.parse(text) as Partial<HeadRecord>;
  } catch (error) {
    throw new Error(`${file} is not a head record (${(error as Error).message}): ${text.slice(0, 200)}`);
  }
  if (!Number.isSafeInteger(parsed.position) || (parsed.position as number) < 0 || typeof parsed.eventId !== 'string') {
    throw new Error(`${file} is not a head record (position and eventId expected): ${text.slice(0, 200)}`);
  }
  return parsed as HeadRecord;
}

/**
 * The temporary file a record is written to before it is renamed over the record: one of this writer's own. The API
 * and its projection process both append to the log and record its head; through one shared name, one's rename
 * moved the other's half-written file into place (a torn record, and the next start failed on it).
 */
const temporaryFile = (file: string) => `${file}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`;

/** Writes the record atomically and durably: a temporary file, fsync, rename over the old one, fsync of the directory. */
export function writeHeadRecordSync(file: string, head: { position: number; eventId: string }): void {
  const tmp = temporaryFile(file);
  try {
    const fd = openSync(tmp, 'w', DATA_FILE_MODE);
    try {
      writeSync(fd, JSON.stringify({ ...head, writtenAt: new Date().toISOString() } satisfies HeadRecord));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, file);
  } catch (error) {
    // A full disk, say: no temporary file is left behind per attempt.
    rmSync(tmp, { force: true });
    throw error;
  }
  syncDirSync(dirname(file));
}

function syncDirSync(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * Follows the commits of the writing process: after a commit the record is written within HEAD_RECORD_INTERVAL_MS,
 * off the thread that answers requests (libuv's pool does the fsyncs), one write at a time, never backwards.
 */
export class HeadRecorder {
  private latest: { position: number; eventId: string } | null = null;
  private written = 0;
  private timer: NodeJS.Timeout | null = null;
  private writing: Promise<void> | null = null;
  private lastError: unknown = null;

  constructor(
    readonly file: string,
    private readonly intervalMs = HEAD_RECORD_INTERVAL_MS,
    private readonly onError: (error: unknown) => void = () => undefined,
  ) {}

  note(position: number, eventId: string): void {
    if (this.latest && position <= this.latest.position) return;
    this.latest = { position, eventId };
    if (this.timer || this.writing) return;
    this.timer = setTimeout(() => void this.flush(), this.intervalMs);
    this.timer.unref();
  }

  /** Position of the last record written. */
  get writtenPosition(): number {
    return this.written;
  }

  private async flush(): Promise<void> {
    this.timer = null;
    const head = this.latest;
    if (!head || head.position <= this.written) return;
    this.writing = this.write(head).then(
      () => {
        this.written = head.position;
        this.lastError = null;
      },
      (error: unknown) => {
        // Disk full, say: the record stays behind and is tried again on the next commit; the start check then
        // compares with an older head, which still catches any loss below it.
        if (this.lastError === null) this.onError(error);
        this.lastError = error;
      },
    );
    await this.writing;
    this.writing = null;
    if (this.latest && this.latest.position > this.written && !this.timer && this.lastError === null) {
      this.timer = setTimeout(() => void this.flush(), this.intervalMs);
      this.timer.unref();
    }
  }

  private async write(head: { position: number; eventId: string }): Promise<void> {
    const tmp = temporaryFile(this.file);
    try {
      const handle = await open(tmp, 'w', DATA_FILE_MODE);
      try {
        await handle.writeFile(JSON.stringify({ ...head, writtenAt: new Date().toISOString() } satisfies HeadRecord));
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(tmp, this.file);
    } catch (error) {
      await rm(tmp, { force: true });
      throw error;
    }
    const dir = await open(dirname(this.file), 'r');
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
  }

  /** Writes the latest head now (on close), after any write under way. */
  async close(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.writing;
    if (this.latest && this.latest.position > this.written) {
      try {
        writeHeadRecordSync(this.file, this.latest);
        this.written = this.latest.position;
      } catch (error) {
        this.onError(error);
      }
    }
  }
}
