import { ProblemError } from '../problem/problem';

/** The live-update streams of this process (STREAM_CLIENTS_MAX), across every Server-Sent Events route. */
export const STREAM_SLOTS = Symbol('STREAM_SLOTS');

/** The client's connection (its socket), as far as a stream's slot needs it. */
export interface ClientConnection {
  readonly destroyed: boolean;
  once(event: 'close', listener: () => void): unknown;
  off(event: 'close', listener: () => void): unknown;
}

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
  /** Streams held by citizens (tokens with the applicant's role alone): at most half the cap, so staff keep the rest. */
  private citizensOpen = 0;

  constructor(readonly limits: StreamLimits) {}

  /** Streams open now, every caller's. */
  get openStreams(): number {
    return this.open;
  }

  /**
   * take, and the slot given back when the stream ends or when the client's connection closes, whichever comes first:
   * Nest does not start a stream whose client has gone by the time the handler returns, so that stream never ends and
   * its slot was held until the process stopped (four such aborts took a caller's every slot).
   */
  takeFor(callerId: string, connection: ClientConnection, citizen = false): () => void {
    const give = this.take(callerId, citizen);
    const release = () => {
      connection.off('close', release);
      give();
    };
    connection.once('close', release);
    if (connection.destroyed) release();
    return release;
  }

  /**
   * The streams citizens may hold together: half the cap (at least one). Any signed-in citizen may follow the feed, so
   * sixteen citizens' tokens filled the whole cap and the auditors' dashboards got 429.
   */
  get citizenLimit(): number {
    return Math.max(1, Math.floor(this.limits.total / 2));
  }

  /**
   * A slot for the caller, or a 429 problem with Retry-After; the function returned gives the slot back, once. `citizen`:
   * the caller holds the applicant's role alone, and counts against the citizens' share too.
   */
  take(callerId: string, citizen = false): () => void {
    const mine = this.byCaller.get(callerId) ?? 0;
    const { total, perCaller } = this.limits;
    if (total > 0 && (this.open >= total || mine >= perCaller || (citizen && this.citizensOpen >= this.citizenLimit))) {
      const full = this.open >= total;
      const detail = full
        ? `${total} live-update streams are open, the most this server keeps`
        : mine >= perCaller
          ? `this caller already has ${mine} live-update streams open, the most one caller may`
          : `${this.citizensOpen} live-update streams are open to citizens, the most this server gives them (the rest is kept for staff)`;
      throw new ProblemError(
        429,
        'too-many-streams',
        'Too many live-update streams',
        `${detail}; close one, or try again later`,
        undefined,
        { limit: full ? total : mine >= perCaller ? perCaller : this.citizenLimit },
        { 'retry-after': '30' },
      );
    }
    this.byCaller.set(callerId, mine + 1);
    this.open++;
    if (citizen) this.citizensOpen++;
    let given = false;
    return () => {
      if (given) return;
      given = true;
      this.open--;
      if (citizen) this.citizensOpen--;
      const left = (this.byCaller.get(callerId) ?? 1) - 1;
      if (left > 0) this.byCaller.set(callerId, left);
      else this.byCaller.delete(callerId);
    };
  }
}
