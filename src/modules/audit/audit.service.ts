/**
 * What auditors read, always from the event log itself: a case's history with provenance, its state at
 * an instant or revision, the explanation of every deadline, the verification of its chain and the
 * evidence pack. Framework-free.
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import type { EventLog, RecordedEvent } from '../event-log/event-log.port';
import type { WorkingCalendar } from '../calendar/domain/working-calendar';
import type { Principal } from '../identity/domain/principal';
import { caseVersion, type Catalog, type RegulationVersion } from '../regulations/domain/catalog';
import { caseStreamId, type CaseEvent } from '../cases/domain/case-event';
import { deadlinesStreamId } from '../deadline-alerts/domain/deadline-events';
import { foldCase, openingOf, type CaseState } from '../cases/domain/case-state';
import { verifyChain, type ChainVerification } from '../cases/domain/hash-chain';
import { toCaseEvent } from '../cases/commands/case-repository';
import type { PersonalDataVault } from '../personal-data/personal-data-vault';
import { inClear, scrubClearCitizen } from '../personal-data/domain/citizen-ids';
import { erasedValue, scrubData } from '../personal-data/domain/personal-fields';
import { casesErasedBy, ERASURE_STREAM } from '../personal-data/domain/erasure';
import { ProblemError } from '../../shared/problem/problem';
import { storedDataDamaged } from '../event-log/event-log.problems';
import type { EvidenceInclusion, EvidenceProofs } from '../transparency/evidence-proofs';
import {
  EVIDENCE_FORMAT,
  keyFingerprint,
  renderEvidenceFile,
  signPack,
  type EvidenceErasure,
  type EvidencePack,
} from './domain/evidence-pack';
import { replayCase, type ReplayCut } from './domain/replay';
import { explainCaseSla } from './domain/sla-explanation';

export interface CaseHistory {
  caseId: string;
  /** The events as stored (personal fields encrypted): what the chain and evidence packs verify. */
  recorded: RecordedEvent[];
  /** The same events with their personal fields opened for the reader ("erased" where the subject was erased). */
  opened: RecordedEvent[];
  /** What the system recorded about the case's limits (warnings, breaches), from its deadlines stream. */
  deadlines: RecordedEvent[];
  events: CaseEvent[];
  version: RegulationVersion;
  /** The case's unit and submission, from its first event. */
  unit: string;
  submittedAt: string;
  /** The case as its whole history makes it, folded when first read (an as-of replay folds only its part). */
  readonly state: CaseState;
}

export class AuditService {
  readonly publicKeyPem: string;
  readonly keyFingerprint: string;

  constructor(
    private readonly log: EventLog,
    private readonly catalog: Catalog,
    private readonly calendar: WorkingCalendar,
    private readonly signingKey: KeyObject,
    private readonly clock: () => Date = () => new Date(),
    private readonly proofs: EvidenceProofs | null = null,
    /**
     * Opens personal fields for a reader, checking their right and recording the disclosure, and knows the erased
     * cases; absent: read as stored.
     */
    private readonly personalData?: Pick<PersonalDataVault, 'open' | 'erasedCasesNow'>,
  ) {
    const publicKey = createPublicKey(signingKey);
    this.publicKeyPem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
    this.keyFingerprint = keyFingerprint(publicKey);
  }

  /** The zone the calendar reads local time in (Asia/Almaty), for pages and downloads that show times to people. */
  get timeZone() {
    return this.calendar.timeZone;
  }

  /**
   * The case's events from the log; null for an unknown case. A reader's right to the case is checked (`admit`, with
   * the case's unit) before any personal field is opened for them; without a reader they are opened as the system.
   */
  async load(
    caseId: string,
    reader?: {
      principal: Principal;
      /** null: only the stored form is used (verification); the acts are opened as the system, after `admit`. */
      purpose: 'history' | 'evidence' | 'replay' | 'explanation' | null;
      correlationId?: string;
      /** Throws when the reader may not read a case of this unit: asked before anything is opened. */
      admit?: (unit: string) => void;
    },
  ): Promise<CaseHistory | null> {
    const recorded = await this.log.readStream(caseStreamId(caseId));
    if (recorded.length === 0) return null;
    reader?.admit?.(String((recorded[0]!.data as { unit?: unknown }).unit));
    // What is shown to a person as the case's acts must be what was sealed: an act changed on disk (a flipped byte) was
    // served as recorded. The evidence pack and the verification report a broken chain themselves.
    if (reader?.purpose === 'history' || reader?.purpose === 'replay' || reader?.purpose === 'explanation') {
      const chain = verifyChain(recorded);
      if (!chain.valid)
        throw storedDataDamaged(
          `the stored acts of case ${caseId} do not match their hashes from revision ${chain.firstBrokenRevision} (${chain.problem}): the log is damaged`,
        );
    }
    const opened = !this.personalData ? recorded : await this.openFor(recorded, reader);
    const events = opened.map(toCaseEvent);
    const first = openingOf(events[0]!);
    const version = this.versionOf(first.data.versionId);
    let state: CaseState | undefined;
    const versionOf = (id: string) => this.versionOf(id);
    const deadlines = await this.log.readStream(deadlinesStreamId(caseId));
    return {
      caseId,
      recorded,
      opened,
      deadlines,
      events,
      version,
      unit: first.data.unit,
      submittedAt: first.metadata.occurredAt,
      get state() {
        return (state ??= foldCase(events, versionOf)!);
      },
    };
  }

  /**
   * The acts opened for the reader. For verification (no purpose) an act that does not open is left as stored: the
   * verification reads only the stored form, and says what is damaged instead of failing on it.
   */
  private async openFor(
    recorded: RecordedEvent[],
    reader: Parameters<AuditService['load']>[1],
  ): Promise<RecordedEvent[]> {
    try {
      return await this.personalData!.open(
        recorded,
        reader?.purpose
          ? {
              kind: 'person',
              principal: reader.principal,
              purpose: reader.purpose,
              ...(reader.correlationId ? { correlationId: reader.correlationId } : {}),
            }
          : { kind: 'system', purpose: 'verification' },
      );
    } catch (error) {
      if (!reader?.purpose && error instanceof ProblemError && error.code === 'stored-data-damaged') return recorded;
      throw error;
    }
  }

  replay(history: CaseHistory, cut: ReplayCut) {
    return replayCase(history.events, history.version, this.calendar, cut);
  }

  explain(history: CaseHistory, asOf: Date) {
    return explainCaseSla(history.state, history.events, history.version, this.calendar, asOf);
  }

  verify(history: CaseHistory): ChainVerification & { headHash: string | null } {
    return {
      ...verifyChain(history.recorded),
      headHash: (history.recorded.at(-1)?.metadata.hash as string | undefined) ?? null,
    };
  }

  /**
   * The signed evidence pack of a case as one HTML file. `caller.authorization`: the caller's own header, with which a
   * worker that keeps the log's tree elsewhere is asked for the proofs.
   */
  async evidence(history: CaseHistory, principal: Principal, caller: { authorization?: string } = {}): Promise<string> {
    const now = this.clock();
    const chain = this.verify(history);
    // The acts are carried as stored, so that the verifier recomputes every hash; but an erased case's act that the log
    // keeps in clear (recorded before encryption began, or naming the citizen as their token named them) would carry
    // the erased person in clear. Such an act is carried with every personal field and the citizen "erased", and
    // marked: its hash still links the chain and its inclusion proof still holds, only its content is not recomputed
    // (format 5). The verifier honours the mark only under an erasure of the case that the log records: the pack
    // carries the case's erasure records, proved against the same checkpoint.
    const erased = (await this.personalData?.erasedCasesNow())?.has(history.caseId) ?? false;
    const erasures = erased ? await this.erasureRecords(history.caseId) : [];
    const { file: _file, ...regulation } = history.version;
    const s = history.state;
    const pack: EvidencePack = {
      format: EVIDENCE_FORMAT,
      generatedAt: now.toISOString(),
      generatedBy: { id: principal.id, name: principal.name, roles: principal.roles },
      case: {
        caseId: s.caseId,
        streamId: caseStreamId(s.caseId),
        serviceId: s.serviceId,
        versionId: s.versionId,
        trackId: s.trackId,
        status: s.status,
        result: s.result,
        receiptNumber: s.receiptNumber,
        unit: s.unit,
        // As the marks below show it: the history was opened before the erasures were read, and an erasure recorded in
        // between left the applicant in clear beside acts shown erased (a pack its own verifier refuses).
        applicant: erased ? (erasedValue('person') as typeof s.applicant) : s.applicant,
      },
      regulation,
      events: history.recorded.map((e) =>
        erased && inClear(e)
          ? {
              id: e.id,
              type: e.type,
              revision: e.revision,
              position: e.position,
              data: scrubData(e.type, e.data as Record<string, unknown>),
              metadata: scrubClearCitizen(e.metadata),
              personalDataErased: true as const,
            }
          : { id: e.id, type: e.type, revision: e.revision, position: e.position, data: e.data, metadata: e.metadata },
      ),
      ...(erasures.length > 0 ? { erasures: erasures.map(asErasure) } : {}),
      chain: {
        valid: chain.valid,
        events: chain.events,
        headHash: chain.headHash,
        ...(chain.valid ? {} : { firstBrokenRevision: chain.firstBrokenRevision, problem: chain.problem }),
      },
      sla: { asOf: now.toISOString(), deadlines: this.explain(history, now) },
      timeZone: { id: this.calendar.timeZone.id, offsets: this.calendar.timeZone.offsetTable() },
    };
    if (this.proofs) {
      // The erasure records are proved with the case's events, to the one checkpoint: asked for after them.
      const inclusion = await this.proofs.evidenceInclusion(
        history.caseId,
        [...history.recorded, ...erasures].map((e) => e.id),
        caller,
      );
      const acts = history.recorded.length;
      proofsMatchEvents(inclusion, history.recorded, erasures);
      // An event's position in a pack is its place in the verifiable log (leaf + 1), which the proofs prove: the
      // embedded log's own position, and on EventStoreDB (whose positions are not leaf numbers) the worker's leaf.
      pack.events.forEach((event, i) => (event.position = inclusion.events[i]!.leafIndex + 1));
      pack.erasures?.forEach((record, j) => (record.position = inclusion.events[acts + j]!.leafIndex + 1));
      const proof = (e: RecordedEvent, i: number) => ({
        revision: e.revision,
        leafIndex: inclusion.events[i]!.leafIndex,
        proof: inclusion.events[i]!.proof,
      });
      pack.transparency = {
        checkpoint: inclusion.checkpoint,
        events: history.recorded.map(proof),
        ...(erasures.length > 0 ? { erasures: erasures.map((e, j) => proof(e, acts + j)) } : {}),
      };
    }
    // Signed exactly as embedded: a JSON round trip drops anything JSON would not keep.
    return renderEvidenceFile(signPack(JSON.parse(JSON.stringify(pack)) as EvidencePack, this.signingKey));
  }

  private versionOf(versionId: string): RegulationVersion {
    return caseVersion(this.catalog, versionId);
  }

  /** The erasures the log records of the case: its `personal-data-erasures` stream's events that name it. */
  private async erasureRecords(caseId: string): Promise<RecordedEvent[]> {
    return (await this.log.readStream(ERASURE_STREAM)).filter((event) => casesErasedBy(event).includes(caseId));
  }
}

/** An erasure record as a pack carries it: whole, as stored (it holds no personal data), so its hash is recomputed. */
const asErasure = (e: RecordedEvent): EvidenceErasure => ({
  id: e.id,
  type: e.type,
  revision: e.revision,
  position: e.position,
  data: e.data,
  metadata: e.metadata,
});

/**
 * Before a pack carries them: each proof's leaf must be its event's sealed hash, and the case's leaves must follow its
 * events' order (an erasure record, of another stream, is only matched to its leaf; the verifier checks it follows the
 * acts it erased). A tree that holds other events under these ids (a worker following another log, or a log changed
 * under it) would otherwise give the auditor a pack that fails, or worse, passes for other events.
 */
function proofsMatchEvents(
  inclusion: EvidenceInclusion,
  events: readonly RecordedEvent[],
  erasures: readonly RecordedEvent[],
): void {
  [...events, ...erasures].forEach((event, i) => {
    const proof = inclusion.events[i]!;
    const sealed = typeof event.metadata.hash === 'string' ? event.metadata.hash : null;
    const problem =
      sealed !== null && proof.leaf !== sealed
        ? `its leaf is ${proof.leaf}, not the event's sealed hash ${sealed}`
        : i > 0 && i < events.length && proof.leafIndex <= inclusion.events[i - 1]!.leafIndex
          ? `its leaf ${proof.leafIndex} does not follow the previous event's ${inclusion.events[i - 1]!.leafIndex}`
          : null;
    if (problem)
      throw new ProblemError(
        502,
        'transparency-mismatch',
        "The log's tree does not hold this case's events",
        `${i < events.length ? 'revision' : `${ERASURE_STREAM} revision`} ${event.revision} (event ${event.id}): ${problem}. The tree and the log disagree: run verify where the tree is kept`,
      );
  });
}
