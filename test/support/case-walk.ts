/**
 * Walks of a regulation version's track, generated from the catalog: the non-optional steps in an order
 * that respects `after`, each with a caller holding its role and valid data for its event type.
 */
import type { RegulationVersion } from '../../src/modules/regulations/domain/catalog';
import type { RegulationStep } from '../../src/modules/regulations/domain/regulation-schema';
import { prerequisitesOn } from '../../src/modules/cases/domain/case-rules';
import { stepsOnTrack } from '../../src/modules/cases/domain/case-state';
import type { TestCaller } from './api-harness';

/** Valid data for each event type a step can record. */
export const VALID_DATA: Record<string, Record<string, unknown>> = {
  ApplicationCancelled: { reason: 'передумал' },
  ReceiptIssued: { receiptNumber: 'R-1' },
  DocumentsAccepted: {},
  DocumentRegistered: { incomingNumber: '04-117' },
  AssignedToEmployee: { assigneeId: 'employee-1' },
  DocumentsReviewed: { outcome: 'compliant' },
  OrderDrafted: {},
  OrderSigned: { orderNumber: '125-к' },
  ExtractIssued: { documentNumber: 'EX-77' },
  RefusalIssued: { reason: 'документы не соответствуют требованиям' },
  TestSlotBooked: { place: 'Астана, ул. Мәңгілік Ел 8', slotAt: '2015-09-20T10:00:00+06:00' },
  TestScheduleAnnounced: {},
  AdmittedToTest: {},
  ApplicantBriefed: {},
  TestCompleted: { score: 82, passed: true },
  TestResultsSigned: {},
  TestResultIssued: {},
  AdmissionDecided: { admitted: true },
  ExamResultRecorded: { passed: true, score: 75 },
  AppealOpened: { reason: 'не согласен с оценкой' },
  AppealResolved: { decision: 'rejected' },
  CompetitionDecided: { admitted: true },
  InformationRequested: { bodies: ['КНБ'] },
  InformationReceived: {},
  CandidateListSent: {},
  GroupFormed: { groupId: 'G-7' },
  ProgrammeScheduleSet: { programmeEndsOn: '2017-06-30' },
  StudyMilestoneRecorded: { milestone: 'research practice' },
  DissertationDefended: {},
  StudentDocumentsIssued: {},
  CompletionDocumentIssued: { documentNumber: 'D-5' },
};

/** The non-optional steps of a track in an order that respects `after` (the first step is the submission). */
export function mainPath(version: RegulationVersion, trackId: string): RegulationStep[] {
  const steps = stepsOnTrack(version, trackId).filter((s) => !s.optional);
  const done = new Set<string>();
  const order: RegulationStep[] = [];
  while (order.length < steps.length) {
    const next = steps.find((s) => !done.has(s.id) && prerequisitesOn(version, trackId, s).every((p) => done.has(p)));
    if (!next) throw new Error(`${version.versionId}/${trackId}: no step can follow ${[...done].join(', ')}`);
    done.add(next.id);
    order.push(next);
  }
  return order;
}

/** A caller holding exactly this role, acting for the unit (the applicant with the case's IIN). */
export function callerFor(role: string, unit: string, applicantIin: string, suffix = ''): TestCaller {
  if (role === 'applicant') return { sub: `applicant-${applicantIin}`, roles: ['applicant'], unit: 'public', iin: applicantIin };
  return { sub: `${role}-${unit}${suffix}`, roles: [role], unit };
}

/** Every version × track of a catalog. */
export function versionTracks(versions: readonly RegulationVersion[]): [string, RegulationVersion, string][] {
  return versions.flatMap((v) => v.tracks.map((t) => [`${v.versionId} / ${t.id}`, v, t.id] as [string, RegulationVersion, string]));
}

/** A business day inside the version's period, for its submissions (postgraduate intake: before July). */
export function filingDay(version: RegulationVersion): string {
  return version.effective.from.startsWith('2019') ? '2019-04-15' : '2015-09-15';
}
