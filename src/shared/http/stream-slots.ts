import { ProblemError } from '../problem/problem';

/** The live-update streams of this process (STREAM_CLIENTS_MAX), across every Server-Sent Events route. */
export const STREAM_SLOTS = Symbol('STREAM_SLOTS');

export interface StreamLimits {
  /** Streams open at once in the process; 0: no cap. */
  total: number;
  /** Streams one caller may hold (a dashboard needs one; a few tabs). */
  perCaller: number;
}

/**
 * Each open stream holds a connection and wakes on every change it watches, so a caller (a citizen's token among
 * them) may not open them without bound on any route: one count per process, shared by every stream route.
 */
export class StreamSlots {
  private readonly byCaller = new Map<string, number>();
  private open = 0;

  constructor(readonly limits: StreamLimits) {}

  /** A slot for the caller, or a 429 problem with Retry-After; the function returned gives the slot back, once. */
  take(callerId: string): () => void {
    const mine = this.byCaller.get(callerId) ?? 0;
    const { total, perCaller } = this.limits;
    if (total > 0 && (this.open >= total || mine >= perCaller)) {
      const full = this.open >= total;
      const detail = full
        ? `${total} live-update streams are open, the most this server keeps`
        : `this caller already has ${mine} live-update streams open, the most one caller may`;
      throw new ProblemError(
        429,
        'too-many-streams',
        'Too many live-update streams',
        `${detail}; close one, or try again later`,
        undefined,
        { limit: full ? total : perCaller },
        { 'retry-after': '30' },
      );
    }
    this.byCaller.set(callerId, mine + 1);
    this.open++;
    let given = false;
    return () => {
      if (given) return;
      given = true;
      this.open--;
      const left = (this.byCaller.get(callerId) ?? 1) - 1;
      if (left > 0) this.byCaller.set(callerId, left);
      else this.byCaller.delete(callerId);
    };
  }
}
