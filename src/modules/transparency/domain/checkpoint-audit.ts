/**
 * `verify`'s check of the log against the checkpoints it signed: the tree is rebuilt from the events in one pass
 * (O(log n) memory), and at each checkpoint's size its root is compared with the signed one. A dropped, edited
 * or reordered event, a truncated log or a replaced file cannot reproduce the roots signed before. Pure.
 */
import { CompactRange } from './merkle';

export interface CheckpointRecord {
  seq: number;
  size: number;
  root: Buffer;
  signedAt: Date;
}

export interface Contradiction {
  seq: number;
  size: number;
  signedAt: string;
  problem: string;
}

export interface TreeReport {
  leaves: number;
  root: string;
  checkpoints: number;
  /** Checkpoints the rebuilt tree reproduces. */
  confirmed: number;
  /** Every contradicted checkpoint, oldest first; the first is where the history diverges. */
  contradicted: Contradiction[];
}

export class CheckpointAudit {
  private readonly range = new CompactRange();
  /** Checkpoint indexes by size, consumed as the rebuilt tree reaches each size. */
  private readonly bySize = new Map<number, CheckpointRecord[]>();
  private readonly contradicted: Contradiction[] = [];
  private confirmed = 0;

  constructor(private readonly checkpoints: readonly CheckpointRecord[]) {
    for (const c of checkpoints) this.bySize.set(c.size, [...(this.bySize.get(c.size) ?? []), c]);
    this.check();
  }

  addLeafHash(leafHash: Uint8Array): void {
    this.range.appendLeafHash(leafHash);
    if (this.bySize.has(this.range.size)) this.check();
  }

  private check(): void {
    const at = this.bySize.get(this.range.size);
    if (!at) return;
    this.bySize.delete(this.range.size);
    const root = Buffer.from(this.range.root());
    for (const c of at) {
      if (root.equals(c.root)) this.confirmed++;
      else
        this.contradicted.push(
          describe(
            c,
            `the log's first ${c.size} events hash to root ${root.toString('base64')}, the checkpoint signed ${c.root.toString('base64')}: an event among them was changed, removed, inserted or reordered, or the file was replaced`,
          ),
        );
    }
  }

  report(): TreeReport {
    for (const [, left] of this.bySize) {
      for (const c of left)
        this.contradicted.push(
          describe(
            c,
            `the checkpoint signed ${c.size} events; the log holds ${this.range.size}: the log was truncated or events were removed`,
          ),
        );
    }
    this.bySize.clear();
    this.contradicted.sort((a, b) => a.seq - b.seq);
    return {
      leaves: this.range.size,
      root: Buffer.from(this.range.root()).toString('base64'),
      checkpoints: this.checkpoints.length,
      confirmed: this.confirmed,
      contradicted: [...this.contradicted],
    };
  }
}

function describe(c: CheckpointRecord, problem: string): Contradiction {
  return { seq: c.seq, size: c.size, signedAt: c.signedAt.toISOString(), problem };
}
