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
import { closeSync, openSync, readSync } from 'node:fs';

/** The WAL index's two copies of its header (SQLite's WalIndexHdr, 48 bytes each). */
const WAL_INDEX_HEADER_BYTES = 96;

export class OtherWrites {
  /** The `-shm` file: null until opened, false where it cannot be (then SQLite is asked every time). */
  private walIndex: number | false | null = null;
  /** The header as read just before `seen` was asked, and a buffer for the next read. */
  private headerSeen = Buffer.alloc(WAL_INDEX_HEADER_BYTES);
  private headerNow = Buffer.alloc(WAL_INDEX_HEADER_BYTES);
  private seen: number | null = null;

  /**
   * @param file the database file, in WAL mode, held open by the connection `ask` runs on (SQLite keeps the `-shm`
   *   file while any connection has the database open)
   * @param ask runs `PRAGMA data_version` on that connection
   */
  constructor(
    private readonly file: string,
    private readonly ask: () => number,
  ) {}

  /** The connection's data_version as SQLite would answer it now. */
  dataVersion(): number {
    const index = this.walIndexFile();
    if (index === false) return this.ask();
    const now = this.headerNow;
    if (readSync(index, now, 0, WAL_INDEX_HEADER_BYTES, 0) !== WAL_INDEX_HEADER_BYTES) {
      this.seen = null;
      return this.ask();
    }
    if (this.seen !== null && now.equals(this.headerSeen)) return this.seen;
    this.headerNow = this.headerSeen;
    this.headerSeen = now;
    return (this.seen = this.ask());
  }

  /** Before the connection closes. */
  close(): void {
    if (typeof this.walIndex === 'number') closeSync(this.walIndex);
    this.walIndex = false;
  }

  private walIndexFile(): number | false {
    if (this.walIndex === null) {
      try {
        this.walIndex = openSync(`${this.file}-shm`, 'r');
      } catch {
        this.walIndex = false;
      }
    }
    return this.walIndex;
  }
}
