/**
 * The pull feed: the events of cases (acts, warnings, breaches) in log order after a position, only those the caller
 * may read: auditors and admins every case, staff their unit's, applicants the cases filed with their IIN. A page
 * scans at most a bounded stretch of the log, so a caller who may read little still gets an answer at once, with
 * the position to go on from. An applicant's cases are found by their IIN's blind index, never by the IIN in clear:
 * the subjects the key store files under it (a filing names its subject as its envelope's key id) or, for a filing
 * stored in clear, the index of the IIN it names; an erased case is no one's. Framework-free.
 */
import { positionPastHead } from '../../event-log/event-log.problems';
import type { EventLog, RecordedEvent } from '../../event-log/event-log.port';
import type { Principal } from '../../identity/domain/principal';
import { CASE_STREAM_PREFIX, caseStreamId } from '../../cases/domain/case-event';
import { readScope } from '../../cases/domain/read-scope';
import { DEADLINES_STREAM_PREFIX } from '../domain/deadline-events';
import type { PersonalDataVault } from '../../personal-data/personal-data-vault';
import type { PersonalKeyStore } from '../../personal-data/keys/key-store.port';
import { isEnvelope } from '../../personal-data/domain/envelope';
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

/** Whose case it is, as the feed keeps it in memory: nothing that is an IIN, nor opens to one. */
export interface CaseScope {
  unit: string;
  /** The data subject the filing's applicant is encrypted for (its envelope's key id); null for a filing in clear. */
  subject: string | null;
  /** The blind index of the IIN a filing stored in clear names; null for an encrypted filing, or one naming none. */
  iinIndex: string | null;
}

/** Whose cases are the caller's own, for a page: looked up once, by the blind index of the IIN their token carries. */
export interface OwnCases {
  iinIndex: string;
  /** The live subjects the key store files under that index (an erased one's is destroyed, or marked erased). */
  subjects: ReadonlySet<string>;
  /** Cases whose applicant is erased (the log's erasure stream): no IIN leads to them. */
  erased: ReadonlySet<string>;
}

/** What the feed needs of the vault to know an applicant's cases without opening any filing. */
export type FeedPersonalData = Pick<PersonalDataVault, 'iinIndex' | 'erasedCasesNow'> & {
  keys: Pick<PersonalKeyStore, 'subjectsOf'>;
};

export class FeedQueries {
  private readonly scopes = new Map<string, CaseScope>();

  constructor(
    private readonly log: EventLog,
    private readonly personalData: FeedPersonalData,
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
    const own = await this.ownCases(principal);
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
        if (!scope || (filter.unit && scope.unit !== filter.unit) || !mayReadCase(principal, caseId, scope, own))
          continue;
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

  /**
   * The caller's own cases when they read as an applicant: their live subjects and the erased cases, read for each page
   * (one look at the key store, and the erasure stream's events since the last look), so an erasure by any process
   * takes their erased cases from them at the next page.
   */
  private async ownCases(principal: Principal): Promise<OwnCases | null> {
    const iin = readScope(principal).iin;
    if (iin === null) return null;
    const iinIndex = this.personalData.iinIndex(iin);
    const [subjects, erased] = await Promise.all([
      this.personalData.keys.subjectsOf(iinIndex),
      this.personalData.erasedCasesNow(),
    ]);
    return {
      iinIndex,
      subjects: new Set(subjects.filter((s) => s.erasedAt === null).map((s) => s.subjectId)),
      erased,
    };
  }

  private async scopeOf(caseId: string, event: RecordedEvent): Promise<CaseScope | null> {
    const known = this.scopes.get(caseId);
    if (known) return known;
    const first =
      event.type === 'ApplicationSubmitted' && event.streamId.startsWith(CASE_STREAM_PREFIX)
        ? event
        : (await this.log.readStream(caseStreamId(caseId), { maxCount: 1 }))[0];
    if (!first) return null;
    const data = first.data as { unit?: unknown; applicant?: unknown };
    if (typeof data.unit !== 'string') return null;
    // An encrypted applicant names its subject, which is no personal data; one stored in clear is kept as its index.
    const applicant = data.applicant;
    const clearIin = (applicant as { iin?: unknown } | undefined)?.iin;
    const scope: CaseScope = {
      unit: data.unit,
      subject: isEnvelope(applicant) ? applicant.kid : null,
      iinIndex: !isEnvelope(applicant) && typeof clearIin === 'string' ? this.personalData.iinIndex(clearIin) : null,
    };
    if (this.scopes.size > 100_000) this.scopes.clear();
    this.scopes.set(caseId, scope);
    return scope;
  }
}

/**
 * Admins and auditors read every case; other staff their unit's; an applicant the cases filed with their IIN (`own`,
 * null for a caller who reads as no applicant) and not erased: the case views' rule for who sees a case's applicant in
 * full, which is who may read everything the case records.
 */
export function mayReadCase(principal: Principal, caseId: string, scope: CaseScope, own: OwnCases | null): boolean {
  const { all, unit } = readScope(principal);
  if (all || (unit !== null && unit === scope.unit)) return true;
  if (own === null || own.erased.has(caseId)) return false;
  return scope.subject !== null ? own.subjects.has(scope.subject) : scope.iinIndex === own.iinIndex;
}

function caseIdOf(event: RecordedEvent): string {
  return event.streamId.startsWith(DEADLINES_STREAM_PREFIX)
    ? event.streamId.slice(DEADLINES_STREAM_PREFIX.length)
    : event.streamId.slice(CASE_STREAM_PREFIX.length);
}
