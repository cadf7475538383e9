/**
 * The pull feed: the events of cases (acts, warnings, breaches) in log order after a position, only those the caller
 * may read: auditors and admins every case, staff their unit's, applicants the cases filed with their IIN. A page
 * scans at most a bounded stretch of the log, so a caller who may read little still gets an answer at once, with
 * the position to go on from. Framework-free.
 */
import { positionPastHead } from '../../event-log/event-log.problems';
import type { EventLog, RecordedEvent } from '../../event-log/event-log.port';
import type { Principal } from '../../identity/domain/principal';
import { CASE_STREAM_PREFIX, caseStreamId } from '../../cases/domain/case-event';
import { seesFullIin } from '../../cases/queries/case-views';
import { DEADLINES_STREAM_PREFIX } from '../domain/deadline-events';
import type { PersonalDataReading } from '../../personal-data/personal-data-vault';
import { withoutClearPersonalData } from '../../personal-data/domain/personal-fields';
import { metadataWithoutClearCitizen } from '../../personal-data/domain/citizen-ids';

export interface FeedFilter {
  after: number;
  types?: readonly string[];
  unit?: string;
  limit: number;
}

export interface FeedItem {
  position: number;
  id: string;
  type: string;
  caseId: string;
  unit: string;
  streamId: string;
  revision: number;
  recordedAt: string;
  data: unknown;
  metadata: Record<string, unknown>;
}

export interface FeedPage {
  items: FeedItem[];
  /** Pass as `after` for the next page: the last position looked at, whether or not it was returned. */
  next: number;
  /** The log's head when the page was read: `next` equal to it means the caller is up to date. */
  head: number;
}

/** Events read from the log at a time while a page is filled. */
export const FEED_SCAN = 2_000;
/**
 * Events a page looks at, at most, whatever the caller may read of them: a citizen's page from the start of a long log
 * read the whole log to find their two cases, per request. A page that stops there has fewer items than its limit and
 * `next` below `head`: the caller goes on from `next`.
 */
export const FEED_PAGE_SCAN_MAX = 20_000;

interface CaseScope {
  unit: string;
  /** Empty when the filing names none (no caller's IIN is empty). */
  applicantIin: string;
}

export class FeedQueries {
  private readonly scopes = new Map<string, CaseScope>();

  /** `personalData`: opens a filing whose applicant is stored encrypted, to know whose case it is. */
  constructor(
    private readonly log: EventLog,
    private readonly personalData?: PersonalDataReading,
    private readonly pageScanMax = FEED_PAGE_SCAN_MAX,
  ) {}

  /** The log's last position: what a live feed watches to know when to read a page. */
  async headPosition(): Promise<number> {
    return this.log.headPosition();
  }

  /**
   * The position a page is asked after, refused when it is past the log's head (the leader's, on a cluster): no command
   * or read ever answered it, and a page after it would answer nothing, for ever, with `next` the same position.
   */
  async checkAfter(after: number): Promise<void> {
    if (after <= (await this.log.headPosition())) return;
    const head = await this.log.headPosition({ fromLeader: true });
    if (after > head) throw positionPastHead(after, head);
  }

  async page(principal: Principal, filter: FeedFilter): Promise<FeedPage> {
    const head = await this.log.headPosition();
    const items: FeedItem[] = [];
    let next = filter.after;
    let scanned = 0;
    while (items.length < filter.limit && next < head && scanned < this.pageScanMax) {
      const asked = Math.min(FEED_SCAN, this.pageScanMax - scanned);
      const events = await this.log.readAll({
        after: next,
        maxCount: asked,
        filter: { streamPrefixes: [CASE_STREAM_PREFIX, DEADLINES_STREAM_PREFIX] },
      });
      if (events.length === 0) {
        next = head;
        break;
      }
      scanned += events.length;
      for (const event of events) {
        next = event.position;
        if (filter.types && !filter.types.includes(event.type)) continue;
        const caseId = caseIdOf(event);
        const scope = await this.scopeOf(caseId, event);
        if (!scope || (filter.unit && scope.unit !== filter.unit) || !mayReadCase(principal, scope)) continue;
        items.push({
          position: event.position,
          id: event.id,
          type: event.type,
          caseId,
          unit: scope.unit,
          streamId: event.streamId,
          revision: event.revision,
          recordedAt: event.recordedAt.toISOString(),
          data: withoutClearPersonalData(event.type, event.data as Record<string, unknown>),
          metadata: metadataWithoutClearCitizen(event.metadata),
        });
        if (items.length >= filter.limit) break;
      }
      if (events.length < asked) {
        // Everything up to the head was looked at: what follows it is only other streams' events.
        if (items.length < filter.limit) next = Math.max(next, head);
        break;
      }
    }
    return { items, next, head };
  }

  private async scopeOf(caseId: string, event: RecordedEvent): Promise<CaseScope | null> {
    const known = this.scopes.get(caseId);
    if (known) return known;
    const first =
      event.type === 'ApplicationSubmitted' && event.streamId.startsWith(CASE_STREAM_PREFIX)
        ? event
        : (await this.log.readStream(caseStreamId(caseId), { maxCount: 1 }))[0];
    if (!first) return null;
    let data = first.data as { unit?: unknown; applicant?: { iin?: unknown } };
    if (typeof data.applicant?.iin !== 'string' && this.personalData) {
      const [opened] = await this.personalData.open([first], { kind: 'system', purpose: 'projection' });
      data = (opened?.data ?? data) as typeof data;
    }
    if (typeof data.unit !== 'string') return null;
    const scope = { unit: data.unit, applicantIin: typeof data.applicant?.iin === 'string' ? data.applicant.iin : '' };
    if (this.scopes.size > 100_000) this.scopes.clear();
    this.scopes.set(caseId, scope);
    return scope;
  }
}

/**
 * Admins and auditors read every case; an applicant the cases filed with their IIN; other staff their unit's: the
 * case views' rule for who sees a case's applicant in full, which is who may read everything the case records.
 */
export function mayReadCase(principal: Principal, scope: CaseScope): boolean {
  return seesFullIin(principal, { unit: scope.unit, applicant: { iin: scope.applicantIin } } as Parameters<
    typeof seesFullIin
  >[1]);
}

function caseIdOf(event: RecordedEvent): string {
  return event.streamId.startsWith(DEADLINES_STREAM_PREFIX)
    ? event.streamId.slice(DEADLINES_STREAM_PREFIX.length)
    : event.streamId.slice(CASE_STREAM_PREFIX.length);
}
