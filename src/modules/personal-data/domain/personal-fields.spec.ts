import fc from 'fast-check';
import { EVENT_TYPE_NAMES } from '../../../events/event-types';
import { PERSONAL_FIELDS, STEP_DATA_SCHEMAS, type PersonalFieldKind } from '../../cases/domain/case-event-data';

interface ZodDef {
  type: string;
  innerType?: { _zod: { def: ZodDef } };
}
import { blindIndex } from './blind-index';
import { isEnvelope } from './envelope';
import { keyCheckValue, masterKeyMatches, newDataKey, parseMasterKey, unwrapKey, wrapKey } from './key-wrapping';
import { ERASED, erasedValue, openData, personalFieldsOf, protectData, scrubData } from './personal-fields';

const valueOf = (kind: PersonalFieldKind): fc.Arbitrary<unknown> => {
  switch (kind) {
    case 'person':
      return fc.record({ iin: fc.stringMatching(/^\d{12}$/), fullName: fc.string({ minLength: 1 }) });
    case 'text':
      return fc.string({ minLength: 1 });
    case 'texts':
      return fc.array(fc.string({ minLength: 1 }), { minLength: 1, maxLength: 5 });
    case 'number':
      return fc.double({ min: 0, max: 1000, noNaN: true });
  }
};

/** Data of an event type: each declared personal field (present or absent) beside clear fields. */
const dataOf = (eventType: string) =>
  fc
    .record({
      personal: fc.record(
        Object.fromEntries(Object.entries(personalFieldsOf(eventType)).map(([field, kind]) => [field, valueOf(kind)])),
        { requiredKeys: [] },
      ),
      clear: fc.dictionary(fc.constantFrom('stepNote', 'outcome', 'passed'), fc.oneof(fc.boolean(), fc.string())),
    })
    .map(({ personal, clear }) => ({ ...clear, ...personal }) as Record<string, unknown>);

/** The texts a personal field's value holds: a text, each of a list, a person's IIN and name. */
const textsOf = (value: unknown): string[] =>
  typeof value === 'string'
    ? [value]
    : Array.isArray(value)
      ? value.flatMap(textsOf)
      : value !== null && typeof value === 'object'
        ? Object.values(value).flatMap(textsOf)
        : [];

/** Data of an event type whose every text personal field holds `text`, as does a clear field beside them. */
const sameTextInClear = (eventType: string, text: string): Record<string, unknown> => ({
  outcome: text,
  ...Object.fromEntries(
    Object.entries(personalFieldsOf(eventType)).flatMap(([field, kind]): [string, unknown][] =>
      kind === 'text' ? [[field, text]] : kind === 'texts' ? [[field, [text]]] : [],
    ),
  ),
});

const subject = { kid: 'subject-1', key: newDataKey() };
const keyOf = (kid: string) => (kid === subject.kid ? subject.key : null);

describe('personal fields of every event type', () => {
  it('every event type declares its personal fields (an empty set is a declaration too)', () => {
    expect(Object.keys(PERSONAL_FIELDS).sort()).toEqual([...EVENT_TYPE_NAMES].sort());
  });

  it('every text, list, number, object, outcome and choice field of every event type is declared personal, or named here as clear with why (a score left undeclared is found)', () => {
    // Ids, dates and the agency's own numbers and names; nothing a person wrote or that describes them.
    const CLEAR: Record<string, string> = {
      'ApplicationSubmitted.caseId': 'id',
      'ApplicationSubmitted.serviceId': 'catalog id',
      'ApplicationSubmitted.versionId': 'catalog id',
      'ApplicationSubmitted.trackId': 'catalog id',
      'ApplicationSubmitted.channel': 'catalog id',
      'ApplicationSubmitted.unit': "the agency's unit",
      'ApplicationSubmitted.receiptNumber': "the service's receipt number",
      'ReceiptIssued.receiptNumber': "the service's receipt number",
      'DocumentRegistered.incomingNumber': "the agency's registry number",
      'AssignedToEmployee.assigneeId': "a staff member's id",
      'OrderDrafted.draftNumber': "the agency's number",
      'OrderSigned.orderNumber': "the agency's order number",
      'OrderSigned.programmeEndsOn': 'a date',
      'TestSlotBooked.place': 'the testing venue',
      'TestSlotBooked.slotAt': 'an instant',
      'TestScheduleAnnounced.publishedAt': 'an instant',
      'TestScheduleAnnounced.url': "the agency's publication",
      'TestScheduleAnnounced.testingStartsOn': 'a date',
      'ExamResultRecorded.exam': "the exam's name",
      'InformationRequested.bodies': 'state bodies',
      'InformationReceived.from': 'a state body',
      'CandidateListSent.listNumber': "the agency's list number",
      'GroupFormed.groupId': "the Academy's group",
      'ProgrammeScheduleSet.programmeEndsOn': 'a date',
      'CompletionDocumentIssued.resultId': 'catalog id',
      'CohortDateRecorded.cohortDate': 'catalog id',
      'CohortDateRecorded.date': 'a date',
      // Outcomes: what the SLA model, the dashboards and the next step follow from. Without the applicant (encrypted,
      // erased with the key) they describe no one; the score behind them is personal and encrypted.
      'ApplicationSubmitted.requestedChannel': 'catalog id',
      'DocumentsReviewed.outcome': 'an outcome',
      'TestCompleted.passed': 'an outcome',
      'AdmissionDecided.admitted': 'an outcome',
      'ExamResultRecorded.passed': 'an outcome',
      'AppealResolved.decision': 'an outcome',
      'CompetitionDecided.admitted': 'an outcome',
      'GroupFormed.applicantIncluded': 'an outcome',
    };
    const undeclared: string[] = [];
    for (const [eventType, schema] of Object.entries(STEP_DATA_SCHEMAS)) {
      const def = (schema as unknown as { _zod: { def: { shape?: object; in?: { shape?: object } } } })._zod.def;
      const shape = (def.shape ?? def.in?.shape ?? {}) as Record<string, { _zod: { def: ZodDef } }>;
      for (const [field, member] of Object.entries(shape)) {
        let type = member._zod.def;
        while (type.innerType) type = type.innerType._zod.def;
        // Records are the cohort's dates (dates, each checked as a date by its schema).
        if (type.type === 'record') continue;
        if (!['string', 'array', 'boolean', 'enum', 'number', 'object'].includes(type.type)) {
          undeclared.push(`${eventType}.${field}: a ${type.type} field this spec does not know`);
          continue;
        }
        const declared = (personalFieldsOf(eventType) as Record<string, unknown>)[field] !== undefined;
        if (!declared && !CLEAR[`${eventType}.${field}`]) undeclared.push(`${eventType}.${field}`);
      }
    }
    expect(undeclared).toEqual([]);
  });

  it.each(EVENT_TYPE_NAMES)(
    '%s: personal fields round-trip through encryption, and none is stored in clear',
    (eventType) => {
      fc.assert(
        fc.property(fc.uuid(), dataOf(eventType), (caseId, data) => {
          const stored = protectData(caseId, eventType, data, subject);
          for (const field of Object.keys(personalFieldsOf(eventType))) {
            if (data[field] === undefined) continue;
            expect(isEnvelope(stored[field])).toBe(true);
            // The field's stored form holds none of its texts. Only the envelope is searched: a clear field may hold
            // the same text (fast-check draws words such as "toString" for both), and that is not a leak.
            for (const text of textsOf(data[field]))
              if (text.length > 3) expect(JSON.stringify(stored[field])).not.toContain(JSON.stringify(text));
          }
          // The stored form survives the log's JSON round trip.
          const opened = openData(
            caseId,
            eventType,
            JSON.parse(JSON.stringify(stored)) as Record<string, unknown>,
            keyOf,
          );
          expect(opened.data).toEqual(data);
          expect(opened.erased).toBe(0);
        }),
        {
          numRuns: 25,
          // Each text of a personal field also held by a clear field: once failed as a leak.
          examples: [['00000000-0000-4000-8000-000000000000', sameTextInClear(eventType, 'toString')]],
        },
      );
    },
  );

  it.each(EVENT_TYPE_NAMES)(
    '%s: with the key destroyed each personal field reads as its placeholder, as a scrubbed read model has it',
    (eventType) => {
      fc.assert(
        fc.property(fc.uuid(), dataOf(eventType), (caseId, data) => {
          const stored = protectData(caseId, eventType, data, subject);
          const opened = openData(caseId, eventType, stored, () => null);
          expect(opened.data).toEqual(scrubData(eventType, data));
          for (const [field, kind] of Object.entries(personalFieldsOf(eventType)))
            if (data[field] !== undefined) expect(opened.data[field]).toEqual(erasedValue(kind));
        }),
        { numRuns: 10 },
      );
    },
  );

  it('an envelope moved to another case, event type or field does not decrypt: it is refused as damage', () => {
    const stored = protectData('case-a', 'RefusalIssued', { reason: 'Иванов не представил справку' }, subject);
    expect(() => openData('case-b', 'RefusalIssued', stored, keyOf)).toThrow(
      /does not decrypt under its subject's key/,
    );
    expect(() => openData('case-a', 'NotAdmitted', stored, keyOf)).toThrow(/does not decrypt/);
  });

  it('clear-text data stored before encryption began is read as it is', () => {
    const opened = openData(
      'c',
      'ApplicationSubmitted',
      { applicant: { iin: '880101300123', fullName: 'Иванов' } },
      keyOf,
    );
    expect(opened).toEqual({
      data: { applicant: { iin: '880101300123', fullName: 'Иванов' } },
      encrypted: 0,
      erased: 0,
    });
    expect(erasedValue('person')).toEqual({ iin: ERASED, fullName: ERASED });
  });
});

describe('subject keys wrapped by the master key', () => {
  it('unwraps under the same master and subject id only', () => {
    const master = newDataKey();
    const key = newDataKey();
    const wrapped = wrapKey(master, 's1', key);
    expect(unwrapKey(master, 's1', wrapped)).toEqual(key);
    expect(() => unwrapKey(newDataKey(), 's1', wrapped)).toThrow();
    expect(() => unwrapKey(master, 's2', wrapped)).toThrow();
  });

  it('the key check value tells the right master key from a wrong one', () => {
    const master = newDataKey();
    expect(masterKeyMatches(master, keyCheckValue(master))).toBe(true);
    expect(masterKeyMatches(newDataKey(), keyCheckValue(master))).toBe(false);
  });

  it('reads a master key as 64 hex digits or 32 bytes of base64, and nothing shorter', () => {
    const key = newDataKey();
    expect(parseMasterKey(key.toString('hex'))).toEqual(key);
    expect(parseMasterKey(key.toString('base64'))).toEqual(key);
    expect(parseMasterKey('secret')).toBeNull();
  });

  it('the blind index depends on the key: the same IIN indexes differently under another key', () => {
    const k = newDataKey();
    expect(blindIndex(k, '880101300123')).toBe(blindIndex(k, '880101300123'));
    expect(blindIndex(k, '880101300123')).not.toBe(blindIndex(newDataKey(), '880101300123'));
  });
});
