/**
 * SQLite's `PRAGMA data_version` (a number that moves when another connection commits to the file), asked only when
 * the file's WAL index header has changed since it was last asked.
 *
 * Asking SQLite opens a read transaction: in WAL mode, four fcntl calls on the shared files, about 10 µs a time while
 * another process has the file open, paid by every case view read (the read store's change mark) and every use of a
 * kept personal-data key (the key store's look for erasures by another process). Every commit in WAL mode rewrites
 * the WAL index header at the start of the `-shm` file (its change counter, its last frame, or its salts when the WAL
 * restarts), so an unchanged header means no commit since, and the number asked then still stands; reading the header
 * is one pread. The header is read before asking, so a commit between the two shows as a changed header next time and
 * is asked about again: the number is never older than the last commit before the call.
 */
import { readdirSync, readlinkSync, readSync, realpathSync } from 'node:fs';

/** The WAL index's two copies of its header (SQLite's WalIndexHdr, 48 bytes each). */
const WAL_INDEX_HEADER_BYTES = 96;

/**
 * The descriptor SQLite itself holds on the database's `-shm` file in this process (one per file, shared by all its
 * connections, open while any of them is), found through /proc/self/fd by the file's real path; false where there is
 * none (not Linux, not WAL, not opened yet). Never a descriptor of our own: closing one would drop every POSIX lock
 * this process holds on the file, SQLite's included, and a path of our own could name another file than SQLite's
 * (a symbolic link, a file moved).
 */
function sqliteWalIndexDescriptor(file: string): number | false {
  let target: string;
  try {
    target = `${realpathSync(file)}-shm`;
  } catch {
    return false;
  }
  let entries: string[];
  try {
    entries = readdirSync('/proc/self/fd');
  } catch {
    return false;
  }
  for (const entry of entries) {
    try {
      if (readlinkSync(`/proc/self/fd/${entry}`) === target) return Number(entry);
    } catch {
      // A descriptor closed while the directory was read.
    }
  }
  return false;
}

export class OtherWrites {
  /** SQLite's `-shm` descriptor: null until looked for (after SQLite has opened it), false where there is none. */
  private walIndex: number | false | null = null;
  /** The header as read just before `seen` was asked, and a buffer for the next read. */
  private headerSeen = Buffer.alloc(WAL_INDEX_HEADER_BYTES);
  private headerNow = Buffer.alloc(WAL_INDEX_HEADER_BYTES);
  private seen: number | null = null;

  /**
   * @param file the database file, in WAL mode, held open by the connection `ask` runs on, for as long as this is
   *   used (SQLite keeps its `-shm` descriptor while any connection has the database open)
   * @param ask runs `PRAGMA data_version` on that connection
   */
  constructor(
    private readonly file: string,
    private readonly ask: () => number,
  ) {}

  /** The connection's data_version as SQLite would answer it now. */
  dataVersion(): number {
    if (this.walIndex === null) {
      // SQLite opens the -shm with the first read transaction: ask first, then look for its descriptor.
      const version = this.ask();
      this.walIndex = sqliteWalIndexDescriptor(this.file);
      return version;
    }
    if (this.walIndex === false) return this.ask();
    const now = this.headerNow;
    if (readSync(this.walIndex, now, 0, WAL_INDEX_HEADER_BYTES, 0) !== WAL_INDEX_HEADER_BYTES) {
      this.seen = null;
      return this.ask();
    }
    if (this.seen !== null && now.equals(this.headerSeen)) return this.seen;
    this.headerNow = this.headerSeen;
    this.headerSeen = now;
    return (this.seen = this.ask());
  }

  /** Before the connection closes: the descriptor is SQLite's, so nothing is closed here; it is only not read again. */
  close(): void {
    this.walIndex = false;
  }
}
