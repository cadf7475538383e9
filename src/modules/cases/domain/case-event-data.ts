/**
 * What each regulatory event carries in `data`, checked before anything is written, and the
 * schema version of each. Older stored versions are brought to the current one by upcasters on
 * read, so `evolve` and the projections only ever see the current shape. Pure.
 */
import { z } from 'zod';
import type { EventType } from '../../../events/event-types';
import { localDateProblem } from '../../calendar/domain/local-date';

/**
 * Characters no text of an act needs and that make it read otherwise than it is stored: format characters (a
 * right-to-left override turned "anatsa" into "astana" on a reader's screen; zero-width ones split or join words
 * unseen) and control characters but the line break and the tab.
 */
export const HIDDEN_CHARACTER = /[\p{Cf}\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]/u;
export const HIDDEN_CHARACTER_ALLOWED =
  'text without format characters (bidi overrides, zero-width) or control characters but line breaks and tabs';

/** Where the text holds a hidden character, as the problem names it; null when it holds none. */
export function hiddenCharacterProblem(value: string): string | null {
  const found = HIDDEN_CHARACTER.exec(value);
  if (!found) return null;
  const code = found[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0');
  return `holds the invisible character U+${code} at position ${found.index}: ${HIDDEN_CHARACTER_ALLOWED}`;
}

const text = (max: number) =>
  z
    .string()
    .trim()
    .min(1, 'must not be empty')
    .max(max, `must be at most ${max} characters`)
    .superRefine((value, ctx) => {
      const problem = hiddenCharacterProblem(value);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    });
const documentNumber = text(100);
const reason = text(2000);
const localDate = z.string().superRefine((value, ctx) => {
  const problem = localDateProblem(value);
  if (problem) ctx.addIssue({ code: 'custom', message: `${problem} (a date YYYY-MM-DD)` });
});

/** ApplicationSubmitted is written by the case's creation, never through the step endpoint. */
export const applicationSubmittedData = z.strictObject({
  caseId: z.string(),
  serviceId: z.string(),
  versionId: z.string(),
  trackId: z.string(),
  channel: z.string(),
  requestedChannel: z.enum(['portal', 'psc', 'office']),
  unit: z.string(),
  applicant: z.strictObject({ iin: z.string(), fullName: z.string() }),
  receiptNumber: z.string(),
  cohortDates: z.record(z.string(), z.string()).default({}),
});
export type ApplicationSubmittedData = z.infer<typeof applicationSubmittedData>;

/** The data schema of every event type a step can record. Unknown fields are refused, not ignored. */
export const STEP_DATA_SCHEMAS = {
  ApplicationSubmitted: applicationSubmittedData,
  ApplicationCancelled: z.strictObject({ reason: reason.optional() }),
  ReceiptIssued: z.strictObject({ receiptNumber: documentNumber }),
  DocumentsAccepted: z.strictObject({ note: reason.optional() }),
  DocumentRegistered: z.strictObject({ incomingNumber: documentNumber }),
  AssignedToEmployee: z.strictObject({ assigneeId: text(200) }),
  DocumentsReviewed: z
    .strictObject({ outcome: z.enum(['compliant', 'non-compliant']), reasons: z.array(reason).max(50).optional() })
    .refine((d) => d.outcome === 'compliant' || (d.reasons?.length ?? 0) > 0, {
      path: ['reasons'],
      message: 'must name at least one reason when the outcome is non-compliant',
    }),
  OrderDrafted: z.strictObject({ draftNumber: documentNumber.optional() }),
  OrderSigned: z.strictObject({ orderNumber: documentNumber, programmeEndsOn: localDate.optional() }),
  ExtractIssued: z.strictObject({ documentNumber }),
  RefusalIssued: z.strictObject({ reason }),
  PortalRefusalIssued: z.strictObject({ reason }),
  NotAdmitted: z.strictObject({ reason }),
  TestSlotBooked: z.strictObject({ place: text(500), slotAt: z.iso.datetime({ offset: true }) }),
  // testingStartsOn: the first testing day the schedule names (order 184, appendix 2, p.7 pp.3 counts back from it).
  TestScheduleAnnounced: z.strictObject({
    publishedAt: z.iso.datetime({ offset: true }).optional(),
    // Where the schedule is published: a web page. Back offices show it as a link, and a javascript: or data: URL there
    // would run in their pages (found by an attack: any scheme was taken).
    url: z
      .url({ protocol: /^https?$/ })
      .max(2000)
      .optional(),
    testingStartsOn: localDate.optional(),
  }),
  AdmittedToTest: z.strictObject({ identityDocument: text(100).optional() }),
  ApplicantBriefed: z.strictObject({}),
  TestCompleted: z.strictObject({ score: z.number().finite().min(0).max(1000), passed: z.boolean() }),
  TestResultsSigned: z.strictObject({}),
  TestResultIssued: z.strictObject({ documentNumber: documentNumber.optional() }),
  AdmissionDecided: z.strictObject({ admitted: z.boolean(), reasons: z.array(reason).max(50).optional() }),
  ExamResultRecorded: z.strictObject({
    exam: text(200).optional(),
    score: z.number().finite().min(0).max(1000).optional(),
    passed: z.boolean(),
  }),
  AppealOpened: z.strictObject({ reason }),
  AppealResolved: z.strictObject({ decision: z.enum(['upheld', 'rejected']), note: reason.optional() }),
  CompetitionDecided: z.strictObject({ admitted: z.boolean(), score: z.number().finite().min(0).max(1000).optional() }),
  InformationRequested: z.strictObject({ bodies: z.array(text(300)).min(1).max(50) }),
  InformationReceived: z.strictObject({ from: text(300).optional() }),
  CandidateListSent: z.strictObject({ listNumber: documentNumber.optional() }),
  // applicantIncluded: false when the group was formed without the applicant (order 58, p.7 pp.3 and pp.5: the notice of non-admission follows).
  GroupFormed: z.strictObject({ groupId: text(100), applicantIncluded: z.boolean().optional() }),
  ProgrammeScheduleSet: z.strictObject({ programmeEndsOn: localDate }),
  StudyMilestoneRecorded: z.strictObject({ milestone: text(300) }),
  DissertationDefended: z.strictObject({ topic: text(1000).optional() }),
  StudentDocumentsIssued: z.strictObject({ studentCardNumber: documentNumber.optional() }),
  // resultId names which of the track's documents was issued where one step can issue several (retraining vs qualification improvement).
  CompletionDocumentIssued: z.strictObject({ documentNumber, resultId: text(100).optional() }),
  IncompleteStudyReferenceIssued: z.strictObject({ documentNumber, reason: reason.optional() }),
  // A cohort date recorded after the filing (the step names which, setsCohortDate; the act keeps its id). Sent without
  // cohortDate, the step's is recorded.
  CohortDateRecorded: z.strictObject({
    cohortDate: z
      .string()
      .regex(/^[a-z0-9]+(-[a-z0-9]+)*$/, 'must be the id of a cohort date (kebab-case)')
      .max(100)
      .optional(),
    date: localDate,
  }),
} as const satisfies Record<EventType, z.ZodType>;

/**
 * What in each event type's data is personal (law No. 94-V "On personal data and their protection", art. 1: any
 * information about a person identified or identifiable by it): the applicant's IIN and name, the numbers of
 * documents issued to them or identifying them, their scores, and free text that may name or describe them.
 * These fields are stored encrypted under the applicant's subject key (src/modules/personal-data), so destroying the
 * key erases them without touching the log. How each reads once erased: `text` "erased", `texts` ["erased"],
 * `number` null, `person` { iin: "erased", fullName: "erased" }. A new event type declares its fields here.
 */
export type PersonalFieldKind = 'person' | 'text' | 'texts' | 'number';
export const PERSONAL_FIELDS = {
  ApplicationSubmitted: { applicant: 'person' },
  ApplicationCancelled: { reason: 'text' },
  ReceiptIssued: {},
  DocumentsAccepted: { note: 'text' },
  DocumentRegistered: {},
  AssignedToEmployee: {},
  DocumentsReviewed: { reasons: 'texts' },
  OrderDrafted: {},
  OrderSigned: {},
  ExtractIssued: { documentNumber: 'text' },
  RefusalIssued: { reason: 'text' },
  PortalRefusalIssued: { reason: 'text' },
  NotAdmitted: { reason: 'text' },
  TestSlotBooked: {},
  TestScheduleAnnounced: {},
  AdmittedToTest: { identityDocument: 'text' },
  ApplicantBriefed: {},
  TestCompleted: { score: 'number' },
  TestResultsSigned: {},
  TestResultIssued: { documentNumber: 'text' },
  AdmissionDecided: { reasons: 'texts' },
  ExamResultRecorded: { score: 'number' },
  AppealOpened: { reason: 'text' },
  AppealResolved: { note: 'text' },
  CompetitionDecided: { score: 'number' },
  InformationRequested: {},
  InformationReceived: {},
  CandidateListSent: {},
  GroupFormed: {},
  ProgrammeScheduleSet: {},
  // Free text about the person's study (a practice abroad, a publication, a failed exam): it describes them.
  StudyMilestoneRecorded: { milestone: 'text' },
  DissertationDefended: { topic: 'text' },
  StudentDocumentsIssued: { studentCardNumber: 'text' },
  CompletionDocumentIssued: { documentNumber: 'text' },
  IncompleteStudyReferenceIssued: { documentNumber: 'text', reason: 'text' },
  CohortDateRecorded: {},
} as const satisfies {
  [T in EventType]: Partial<Record<keyof z.infer<(typeof STEP_DATA_SCHEMAS)[T]> & string, PersonalFieldKind>>;
};

export type StepData<T extends EventType> = z.infer<(typeof STEP_DATA_SCHEMAS)[T]>;

/** Current schema version of every event type's data; bump it together with an upcaster from the old one. */
export const CURRENT_SCHEMA_VERSION: Readonly<Record<EventType, number>> = Object.fromEntries(
  Object.keys(STEP_DATA_SCHEMAS).map((t) => [t, 1]),
) as Record<EventType, number>;

export interface DataProblem {
  field: string;
  problem: string;
  allowed?: string;
}

/** Validates a step's data for its event type; each problem names the field under `data.`. */
export function parseStepData(
  eventType: EventType,
  data: unknown,
): { ok: true; data: Record<string, unknown> } | { ok: false; problems: DataProblem[] } {
  const schema = STEP_DATA_SCHEMAS[eventType] as z.ZodType;
  const parsed = schema.safeParse(data ?? {});
  if (parsed.success) return { ok: true, data: parsed.data as Record<string, unknown> };
  return {
    ok: false,
    problems: parsed.error.issues.map((issue) => ({
      field: ['data', ...issue.path.map(String)].join('.'),
      problem: issue.code === 'unrecognized_keys' ? `unknown field(s) ${issue.keys.join(', ')}` : issue.message,
      allowed: describeSchema(eventType),
    })),
  };
}

/** A one-line description of what the data of an event type may hold, for error messages. */
export function describeSchema(eventType: EventType): string {
  const schema = STEP_DATA_SCHEMAS[eventType] as z.ZodType;
  const json = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as {
    properties?: Record<string, { type?: string; enum?: unknown[] }>;
    required?: string[];
  };
  const fields = Object.entries(json.properties ?? {}).map(([name, p]) => {
    const type = p.enum ? p.enum.map((v) => JSON.stringify(v)).join('|') : (p.type ?? 'value');
    return `${name}${json.required?.includes(name) ? '' : '?'}: ${type}`;
  });
  return `${eventType} data { ${fields.join(', ')} }`;
}

/** Brings a stored event's data from its schema version to the current one. */
export type Upcaster = (data: Record<string, unknown>) => Record<string, unknown>;

export class UpcasterRegistry {
  private readonly steps = new Map<string, Upcaster>();

  constructor(private readonly current: Readonly<Record<string, number>> = CURRENT_SCHEMA_VERSION) {}

  /** Registers the upcaster that turns `type` data of version `from` into version `from + 1`. */
  register(type: string, from: number, upcaster: Upcaster): this {
    this.steps.set(`${type}@${from}`, upcaster);
    return this;
  }

  /** The data in the current version; throws when a step of the path is missing or the stored version is newer. */
  upcast(type: string, version: number, data: Record<string, unknown>): Record<string, unknown> {
    const target = this.current[type] ?? 1;
    if (version > target)
      throw new Error(
        `${type} data is schema version ${version}, newer than this build knows (${target}); upgrade the service`,
      );
    let result = data;
    for (let v = version; v < target; v++) {
      const step = this.steps.get(`${type}@${v}`);
      if (!step) throw new Error(`no upcaster for ${type} from schema version ${v} to ${v + 1}`);
      result = step(result);
    }
    return result;
  }
}

/** The upcasters of this build: empty while every event type is at version 1. */
export const upcasters = new UpcasterRegistry();
