import { CURRENT_SCHEMA_VERSION, describeSchema, parseStepData, UpcasterRegistry } from './case-event-data';

describe('event data schemas', () => {
  it('every event type is at a known schema version', () => {
    expect(Object.values(CURRENT_SCHEMA_VERSION).every((v) => Number.isInteger(v) && v >= 1)).toBe(true);
  });

  it('names each bad field under data., what is wrong and what is allowed', () => {
    const parsed = parseStepData('DocumentsReviewed', { outcome: 'maybe', extra: 1 });
    expect(parsed.ok).toBe(false);
    if (parsed.ok) return;
    expect(parsed.problems.map((p) => p.field).sort()).toEqual(['data', 'data.outcome']);
    expect(parsed.problems[0]!.allowed).toBe(describeSchema('DocumentsReviewed'));
    expect(describeSchema('DocumentsReviewed')).toBe(
      'DocumentsReviewed data { outcome: "compliant"|"non-compliant", reasons?: array }',
    );
  });

  it('requires reasons for non-compliant documents', () => {
    const parsed = parseStepData('DocumentsReviewed', { outcome: 'non-compliant' });
    expect(parsed.ok ? [] : parsed.problems.map((p) => p.field)).toEqual(['data.reasons']);
  });
});

// Found by re-attacking the running server: an assignee id with a right-to-left override and a zero-width space was
// recorded, and the compliance summary, its CSV export and the evidence pack showed it reversed.
describe('the text of an act holds no invisible character', () => {
  it.each([
    ['AssignedToEmployee', { assigneeId: '\u202Eanatsa' }, 'data.assigneeId', '202E'],
    ['AssignedToEmployee', { assigneeId: 'emp\u200B-7' }, 'data.assigneeId', '200B'],
    ['ApplicationCancelled', { reason: 'переезд\u2066 в Алматы' }, 'data.reason', '2066'],
    ['DocumentRegistered', { incomingNumber: '04-\u00001' }, 'data.incomingNumber', '0000'],
  ] as const)('%s %j: refused naming %s and U+%s', (type, data, field, code) => {
    const parsed = parseStepData(type, data);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok)
      expect(parsed.problems).toEqual([
        expect.objectContaining({ field, problem: expect.stringContaining(`invisible character U+${code}`) }),
      ]);
  });

  it('takes line breaks, tabs and any script', () => {
    expect(parseStepData('ApplicationCancelled', { reason: 'Переезд:\n\tв Алматы (Әлем, 😀)' }).ok).toBe(true);
  });
});

// Found by an attack: the schedule's URL took any scheme, and back offices show it as a link.
describe("a test schedule's URL is a web page's", () => {
  it.each([
    'javascript:alert(1)',
    'data:text/html,<script>x</script>',
    'ftp://files.gov.kz/a',
    `https://a.kz/${'x'.repeat(2000)}`,
  ])('%s is refused, naming data.url', (url) => {
    const parsed = parseStepData('TestScheduleAnnounced', { url });
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.problems.map((p) => p.field)).toEqual(['data.url']);
  });

  it('an http or https page is taken', () => {
    for (const url of ['https://www.gov.kz/memleket/entities/kyzmet/press/news', 'http://testing.kz/schedule'])
      expect(parseStepData('TestScheduleAnnounced', { url }).ok).toBe(true);
  });
});

describe('upcasters: stored data is brought to the current schema version on read', () => {
  // A later build where DocumentRegistered data went to version 3: v1 had no registry office, v2 a free-text date.
  const registry = new UpcasterRegistry({ DocumentRegistered: 3 })
    .register('DocumentRegistered', 1, (d) => ({ ...d, office: 'unknown' }))
    .register('DocumentRegistered', 2, ({ stampDate, ...d }) => ({ ...d, stampedOn: String(stampDate).slice(0, 10) }));

  it('applies each step of the path in order', () => {
    expect(registry.upcast('DocumentRegistered', 1, { incomingNumber: '04-1', stampDate: '2015-10-05 stamp' })).toEqual(
      { incomingNumber: '04-1', office: 'unknown', stampedOn: '2015-10-05' },
    );
    expect(registry.upcast('DocumentRegistered', 3, { incomingNumber: '04-1' })).toEqual({ incomingNumber: '04-1' });
  });

  it('refuses data newer than the build knows, and a path with a missing step, by name', () => {
    expect(() => registry.upcast('DocumentRegistered', 4, {})).toThrow(
      /schema version 4, newer than this build knows \(3\)/,
    );
    const gap = new UpcasterRegistry({ OrderSigned: 3 }).register('OrderSigned', 1, (d) => d);
    expect(() => gap.upcast('OrderSigned', 1, {})).toThrow(/no upcaster for OrderSigned from schema version 2 to 3/);
  });
});
