/**
 * Case views already rendered, kept for the callers who read them again. Back-office screens re-read the
 * cases they work on far more often than those cases change, and rendering (parse the document, build the
 * view, serialise its labels) was most of a read's time.
 *
 * An entry is exact, never merely recent: it is used only while the document's version (from the store,
 * without reading the document) is the one it was rendered from, for the same caller, and before the first
 * instant at which the view would read differently by time alone. Least recently used entries leave first
 * once the text kept passes the budget. The text is kept as UTF-8, as it is sent: a third less memory than
 * a string of Cyrillic labels, and nothing to encode per answer.
 */
export interface RenderedViewStats {
  hits: number;
  misses: number;
  entries: number;
  /** Bytes of text kept, the measure of the budget. */
  bytes: number;
}

/** Makes the answer from the view's text (without its position) and the model position it names. */
export type Compose = (json: Buffer, position: number) => Buffer;

interface Entry {
  version: number;
  /** The store's change mark when `version` was last found to be the document's: while it stands, nothing changed. */
  mark: string | null;
  validUntil: number;
  /** The last answer made, at `position`; its first `jsonLength` bytes are the view without its position. */
  answer: Buffer;
  position: number;
  jsonLength: number;
}

export class RenderedViews {
  private readonly entries = new Map<string, Entry>();
  private bytes = 0;
  private hits = 0;
  private misses = 0;

  /** @param budgetBytes most text kept. */
  constructor(private readonly budgetBytes: number) {}

  /**
   * The answer from the view kept for `key` if the store has not changed since its version was last confirmed (the
   * same change mark, not null): no need to ask the store for the document's version. Null otherwise, counting nothing.
   */
  unchangedSince(key: string, mark: string | null, now: number, position: number, compose: Compose): Buffer | null {
    const entry = this.entries.get(key);
    if (mark === null || !entry || entry.mark !== mark || now >= entry.validUntil) return null;
    this.hits++;
    return this.serve(key, entry, position, compose);
  }

  /** The answer at `position` from the view kept for `key`, if it still stands; the same Buffer again while the position stays. */
  answer(key: string, version: number, mark: string | null, now: number, position: number, compose: Compose): Buffer | null {
    const entry = this.entries.get(key);
    if (!entry || entry.version !== version || now >= entry.validUntil) {
      this.misses++;
      return null;
    }
    this.hits++;
    entry.mark = mark;
    return this.serve(key, entry, position, compose);
  }

  private serve(key: string, entry: Entry, position: number, compose: Compose): Buffer {
    // Most recently used last: Map keeps insertion order.
    this.entries.delete(key);
    this.entries.set(key, entry);
    if (entry.position !== position) {
      const answer = compose(entry.answer.subarray(0, entry.jsonLength), position);
      this.bytes += answer.length - entry.answer.length;
      entry.answer = answer;
      entry.position = position;
    }
    return entry.answer;
  }

  /** Keeps a view just rendered from the document at `version` (looked up at `mark`), and answers with it at `position`. */
  put(key: string, version: number, mark: string | null, validUntil: number, json: Buffer, position: number, compose: Compose): Buffer {
    const answer = compose(json, position);
    const previous = this.entries.get(key);
    if (previous) {
      this.entries.delete(key);
      this.bytes -= previous.answer.length;
    }
    if (answer.length > this.budgetBytes) return answer;
    this.entries.set(key, { version, mark, validUntil, answer, position, jsonLength: json.length });
    this.bytes += answer.length;
    for (const [oldest, entry] of this.entries) {
      if (this.bytes <= this.budgetBytes) break;
      this.entries.delete(oldest);
      this.bytes -= entry.answer.length;
    }
    return answer;
  }

  stats(): RenderedViewStats {
    return { hits: this.hits, misses: this.misses, entries: this.entries.size, bytes: this.bytes };
  }
}
