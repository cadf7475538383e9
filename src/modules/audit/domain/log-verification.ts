/**
 * Verification of the whole log in one pass over the global order: every sealed stream's hash chain is
 * followed event by event, so memory holds one link per stream, not the streams. Pure.
 */
import {
  linkProblem,
  storedLinkProblem,
  type HashableEvent,
  type StoredEventText,
} from '../../cases/domain/hash-chain';

export interface BrokenStream {
  streamId: string;
  revision: number;
  problem: string;
}

export interface LogVerificationReport {
  valid: boolean;
  events: number;
  sealedEvents: number;
  streams: number;
  /** Streams whose events carry no hash (not part of any chain). */
  unsealedStreams: number;
  broken: BrokenStream[];
}

export class LogChainVerifier {
  private readonly links = new Map<string, { revision: number; hash: string | null } | 'broken' | 'unsealed'>();
  private readonly broken: BrokenStream[] = [];
  private events = 0;
  private sealed = 0;

  add(event: HashableEvent): void {
    this.events++;
    const link = this.links.get(event.streamId);
    if (link === 'broken' || link === 'unsealed') return;
    if (link === undefined && !('hash' in event.metadata)) {
      this.links.set(event.streamId, 'unsealed');
      return;
    }
    this.sealed++;
    const problem = linkProblem(event, link ? link.revision + 1 : 0, link ? link.hash : null);
    if (problem) {
      this.broken.push({ streamId: event.streamId, revision: event.revision, problem });
      this.links.set(event.streamId, 'broken');
    } else {
      this.links.set(event.streamId, { revision: event.revision, hash: event.metadata.hash as string });
    }
  }

  /** The same check on an event as stored text (the fast path: no parsing when the text is canonical). */
  addStored(event: StoredEventText): void {
    this.events++;
    const link = this.links.get(event.streamId);
    if (link === 'broken' || link === 'unsealed') return;
    if (link === undefined && !event.metadata.includes('"hash":')) {
      this.links.set(event.streamId, 'unsealed');
      return;
    }
    this.sealed++;
    const { problem, hash } = storedLinkProblem(event, link ? link.revision + 1 : 0, link ? link.hash : null);
    if (problem) {
      this.broken.push({ streamId: event.streamId, revision: event.revision, problem });
      this.links.set(event.streamId, 'broken');
    } else {
      this.links.set(event.streamId, { revision: event.revision, hash });
    }
  }

  report(): LogVerificationReport {
    let unsealed = 0;
    for (const link of this.links.values()) if (link === 'unsealed') unsealed++;
    return {
      valid: this.broken.length === 0,
      events: this.events,
      sealedEvents: this.sealed,
      streams: this.links.size,
      unsealedStreams: unsealed,
      broken: [...this.broken],
    };
  }
}
