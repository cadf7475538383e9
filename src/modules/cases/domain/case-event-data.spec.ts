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
