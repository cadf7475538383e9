import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { loadCalendar } from '../../calendar/domain/load-calendar';
import { computeDeadline } from '../../deadlines/domain/compute-deadline';
import { CatalogError, loadCatalog } from './catalog';
import { lintCatalog } from './lint';
import { NoVersionInForceError, resolveVersion, UnknownServiceError } from './resolve-version';

const ROOT = join(__dirname, '../../../..');
const DATA = join(ROOT, 'data');
const REGULATIONS = join(DATA, 'regulations');
const catalog = loadCatalog(REGULATIONS);
const calendar = loadCalendar(join(DATA, 'calendars/KZ.yaml'));
const zone = calendar.timeZone;

describe('the regulation catalog', () => {
  it('holds the six versions under the ids clients rely on', () => {
    expect(catalog.versions.map((v) => v.versionId).sort()).toEqual([
      'academy-admission/order-184-2015',
      'academy-admission/order-58-2019',
      'academy-postgraduate-study/order-184-2015',
      'academy-retraining/order-184-2015',
      'civil-service-testing/order-184-2015',
      'personnel-reserve/order-184-2015',
    ]);
    expect(catalog.byId.get('personnel-reserve/order-184-2015')!.tracks.map((t) => t.id)).toEqual([
      'competition-recommended',
      'priority-graduates',
      'corps-a-selection',
    ]);
    expect(catalog.byId.get('academy-admission/order-58-2019')!.tracks.map((t) => t.id)).toEqual([
      'postgraduate',
      'qualification-improvement',
    ]);
  });

  it('names the act, its registration and the repealing act of every version', () => {
    const v2015 = catalog.byId.get('civil-service-testing/order-184-2015')!;
    expect(v2015.act).toMatchObject({
      number: '184',
      date: '2015-06-08',
      registration: { number: '11692', date: '2015-07-17' },
      appendix: 1,
    });
    expect(v2015.repealedBy).toMatchObject({ id: 'order-133-2016', date: '2016-06-20' });
    const v2019 = catalog.byId.get('academy-admission/order-58-2019')!;
    expect(v2019.act).toMatchObject({ number: '58', registration: { number: '18371' }, amends: { number: '172' } });
    expect(v2019.repealedBy).toMatchObject({ id: 'order-173-2020', date: '2020-12-08' });
  });

  it("names for every version how long a closed case's personal data are kept, and says the act sets no period", () => {
    // The seed texts have no provision on storage, archiving or destruction (searched: хран, архив, уничтож, сақта,
    // мұрағат, дербес), so no version may present its period as the act's or the law's.
    for (const version of catalog.versions) {
      expect([version.versionId, version.personalDataRetention?.years]).toEqual([version.versionId, 5]);
      expect(version.personalDataRetention!.basis).toMatch(/^The act is silent: order No\. (184 of 2015|58 of 2019) /);
      expect(version.personalDataRetention!.basis).toContain("operator's setting");
    }
    for (const source of ['order-184-2015.ru.txt', 'order-58-2019.kk.txt'])
      expect([
        source,
        readFileSync(join(REGULATIONS, 'sources', source), 'utf8').match(/хран|архив|уничтож|сақта|мұрағат|дербес/i),
      ]).toEqual([source, null]);
  });

  it('models the two-actor signing and the optional appeal', () => {
    const signed = catalog.byId
      .get('civil-service-testing/order-184-2015')!
      .steps.find((s) => s.id === 'test-results-signed')!;
    expect(signed).toMatchObject({
      roles: ['test-administrator', 'test-operator'],
      requiresAll: true,
      eventType: 'TestResultsSigned',
    });
    const appeal = catalog.byId.get('academy-admission/order-184-2015')!.steps.find((s) => s.id === 'appeal-resolved')!;
    expect(appeal).toMatchObject({ optional: true, eventType: 'AppealResolved' });
    expect(appeal.limits[0]).toMatchObject({
      spec: { kind: 'working-days', days: 5 },
      anchor: { step: 'entrance-exams-passed' },
    });
  });
});

describe('clauses quote the seed texts', () => {
  const normalise = (text: string) =>
    text
      .replace(/\s+/g, '')
      .replace(/[«»"“”]/g, '')
      .toLowerCase();
  // The texts of the acts, kept beside the catalog (data/regulations/sources).
  const seeds = normalise(
    ['order-184-2015.ru.txt', 'order-58-2019.kk.txt']
      .map((f) => readFileSync(join(REGULATIONS, 'sources', f), 'utf8'))
      .join('\n'),
  );
  const quotes: [string, string][] = [];
  const walk = (value: unknown, versionId: string): void => {
    if (Array.isArray(value)) value.forEach((v) => walk(v, versionId));
    else if (value && typeof value === 'object') {
      const record = value as Record<string, unknown>;
      if (typeof record.quote === 'string') quotes.push([versionId, record.quote]);
      Object.values(record).forEach((v) => walk(v, versionId));
    }
  };
  catalog.versions.forEach((v) => walk(v, v.versionId));

  it('has quotes throughout the catalog', () => {
    expect(quotes.length).toBeGreaterThan(150);
  });

  it.each(quotes)('%s: «%s» is in the text (word for word, "..." for omissions)', (_versionId, quote) => {
    for (const part of quote
      .split(/\.\.\.|…/)
      .map(normalise)
      .filter(Boolean))
      expect(seeds).toContain(part);
  });
});

describe('specification: every limit of every regulation version', () => {
  // [version, step, limit, kind + parameters, anchor, clause (| alternative)] — checked against the texts.
  const expected: [string, string, string, string, string, string][] = [
    [
      'academy-admission/order-184-2015',
      'application-submitted',
      'filing',
      'minutes {"minutes":30}',
      'stepStarted:application-submitted',
      'app.3 p.5 pp.1',
    ],
    [
      'academy-admission/order-184-2015',
      'documents-accepted',
      'acceptance',
      'minutes {"minutes":30}',
      'stepStarted:documents-accepted',
      'app.3 p.7 pp.1',
    ],
    [
      'academy-admission/order-184-2015',
      'entrance-exams-passed',
      'exam-window',
      'annual-window {"from":{"monthDay":"08-10"},"until":{"monthDay":"08-20"}}',
      'step:application-submitted',
      'app.3 p.5 pp.2',
    ],
    [
      'academy-admission/order-184-2015',
      'appeal-resolved',
      'appeal-period',
      'working-days {"days":5}',
      'step:entrance-exams-passed',
      'app.3 p.7 pp.3',
    ],
    [
      'academy-admission/order-184-2015',
      'competition-decided',
      'competition-window',
      'annual-window {"from":{"monthDay":"08-21"},"until":{"monthDay":"08-24"}}',
      'step:application-submitted',
      'app.3 p.5 pp.3',
    ],
    [
      'academy-admission/order-184-2015',
      'competition-decided',
      'admission-commission-period',
      'annual-window {"from":{"monthDay":"07-10"},"until":{"monthDay":"08-25"}}',
      'step:application-submitted',
      'app.3 p.7 pp.4',
    ],
    [
      'academy-admission/order-184-2015',
      'enrolment-order-signed',
      'enrolment-window',
      'annual-window {"from":{"monthDay":"08-24"},"until":{"monthDay":"08-25"}}',
      'step:application-submitted',
      'app.3 p.5 pp.4',
    ],
    [
      'academy-admission/order-58-2019',
      'application-submitted',
      'filing-postgraduate',
      'minutes {"minutes":20}',
      'stepStarted:application-submitted',
      'app.3 p.5 pp.1 postgraduate',
    ],
    [
      'academy-admission/order-58-2019',
      'application-submitted',
      'filing-and-receipt-qualification',
      'minutes {"minutes":15}',
      'stepStarted:application-submitted',
      'app.3 p.7 pp.2 qualification-improvement',
    ],
    [
      'academy-admission/order-58-2019',
      'entrance-exams-passed',
      'exam-window',
      'annual-window {"from":{"monthDay":"07-29"},"until":{"monthDay":"08-03"}}',
      'step:application-submitted',
      'app.3 p.5 pp.2 postgraduate',
    ],
    [
      'academy-admission/order-58-2019',
      'competition-decided',
      'competition-window',
      'annual-window {"from":{"monthDay":"08-05"},"until":{"monthDay":"08-09"}}',
      'step:application-submitted',
      'app.3 p.5 pp.3 postgraduate',
    ],
    [
      'academy-admission/order-58-2019',
      'admission-order-drafted',
      'admission-by-10-august',
      'annual-window {"until":{"monthDay":"08-10"}}',
      'step:application-submitted',
      'app.3 p.5 pp.4 postgraduate | alt annual-window {"from":{"monthDay":"08-10"},"until":{"monthDay":"08-10"},"untilMovesToWorkingDay":true} p.7 pp.4',
    ],
    [
      'academy-admission/order-58-2019',
      'extract-issued',
      'extract-qualification',
      'working-days {"days":1}',
      'step:enrolment-order-signed',
      'app.3 p.7 pp.5 qualification-improvement',
    ],
    [
      'academy-admission/order-58-2019',
      'refusal-issued',
      'refusal-qualification',
      'working-days {"days":1}',
      'step:group-formed',
      'app.3 p.7 pp.5 qualification-improvement',
    ],
    [
      'academy-admission/order-58-2019',
      'enrolment-order-signed',
      'group-and-order',
      'working-days {"days":1}',
      'stepStarted:group-formed',
      'app.3 p.7 pp.4 qualification-improvement',
    ],
    [
      'academy-postgraduate-study/order-184-2015',
      'enrolment-order-signed',
      'enrolment-window',
      'annual-window {"from":{"monthDay":"08-24"},"until":{"monthDay":"08-25"}}',
      'cohortDate:academic-year-start',
      'app.4 p.5 pp.1',
    ],
    [
      'academy-postgraduate-study/order-184-2015',
      'study-milestones-recorded',
      'study-period',
      'by-programme {"maxMonths":24}',
      'step:enrolment-order-signed',
      'app.4 p.5 pp.2',
    ],
    [
      'academy-postgraduate-study/order-184-2015',
      'comprehensive-exam-passed',
      'by-programme',
      'by-programme {"maxMonths":24}',
      'step:enrolment-order-signed',
      'app.4 p.5 pp.8',
    ],
    [
      'academy-postgraduate-study/order-184-2015',
      'dissertation-defended',
      'by-programme',
      'by-programme {"maxMonths":24}',
      'step:enrolment-order-signed',
      'app.4 p.5 pp.9',
    ],
    [
      'academy-retraining/order-184-2015',
      'documents-registered',
      'hand-over',
      'working-days {"days":1}',
      'step:application-submitted',
      'app.5 p.5 pp.1',
    ],
    [
      'academy-retraining/order-184-2015',
      'group-formed',
      'group',
      'working-days {"days":1}',
      'step:documents-registered',
      'app.5 p.5 pp.2 | alt working-days {"days":3} p.7 pp.2',
    ],
    [
      'academy-retraining/order-184-2015',
      'enrolment-order-signed',
      'signing',
      'working-days {"days":1}',
      'step:group-formed',
      'app.5 p.5 pp.3',
    ],
    [
      'academy-retraining/order-184-2015',
      'training-completed',
      'programme',
      'by-programme {}',
      'step:enrolment-order-signed',
      'app.5 p.5 pp.4',
    ],
    [
      'academy-retraining/order-184-2015',
      'final-test-passed',
      'programme',
      'by-programme {}',
      'step:enrolment-order-signed',
      'app.5 p.5 pp.5',
    ],
    [
      'academy-retraining/order-184-2015',
      'completion-document-issued',
      'signing',
      'working-days {"days":1}',
      'step:final-test-passed',
      'app.5 p.5 pp.6',
    ],
    [
      'civil-service-testing/order-184-2015',
      'application-submitted',
      'filing-on-portal',
      'minutes {"minutes":5}',
      'stepStarted:application-submitted',
      'app.1 p.5 pp.1',
    ],
    [
      'civil-service-testing/order-184-2015',
      'application-submitted',
      'filing-assisted',
      'minutes {"minutes":30}',
      'stepStarted:application-submitted',
      'app.1 p.5 pp.1',
    ],
    [
      'civil-service-testing/order-184-2015',
      'admitted-to-test',
      'admission',
      'minutes {"minutes":10}',
      'stepStarted:admitted-to-test',
      'app.1 p.7 pp.1',
    ],
    // The length of the briefing and of the test themselves (p.7 pp.2-3 «Длительность выполнения»), from their own
    // start; counted from the end of the act before as the other reading (the text gives no start).
    [
      'civil-service-testing/order-184-2015',
      'applicant-briefed',
      'briefing',
      'minutes {"minutes":10}',
      'stepStarted:applicant-briefed',
      'app.1 p.7 pp.2 | alt minutes {"minutes":10} p.5 pp.3 from step:admitted-to-test',
    ],
    [
      'civil-service-testing/order-184-2015',
      'test-completed',
      'test-duration',
      'minutes {"minutes":125}',
      'stepStarted:test-completed',
      'app.1 p.7 pp.3 | alt minutes {"minutes":125} p.5 pp.4 from step:applicant-briefed',
    ],
    [
      'civil-service-testing/order-184-2015',
      'test-results-signed',
      'signing',
      'minutes {"minutes":10}',
      'step:test-completed',
      'app.1 p.7 pp.4',
    ],
    [
      'civil-service-testing/order-184-2015',
      'test-result-issued',
      'issue',
      'minutes {"minutes":20}',
      'step:test-completed',
      'app.1 p.7 pp.5 | alt minutes {"minutes":30} p.5 pp.5',
    ],
    [
      'personnel-reserve/order-184-2015',
      'application-submitted',
      'filing',
      'minutes {"minutes":30}',
      'stepStarted:application-submitted',
      'app.2 p.5 pp.1',
    ],
    [
      'personnel-reserve/order-184-2015',
      'documents-registered',
      'registration',
      'working-days {"days":1}',
      'step:application-submitted',
      'app.2 p.7 pp.1',
    ],
    [
      'personnel-reserve/order-184-2015',
      'assigned-to-employee',
      'assignment',
      'working-days {"days":1}',
      'step:application-submitted',
      'app.2 p.7 pp.2',
    ],
    [
      'personnel-reserve/order-184-2015',
      'documents-reviewed',
      'check',
      'working-days {"days":3}',
      'step:application-submitted',
      'app.2 p.5 pp.2',
    ],
    [
      'personnel-reserve/order-184-2015',
      'order-signed',
      'enrolment',
      'working-days {"days":3}',
      'step:documents-reviewed',
      'app.2 p.5 pp.3',
    ],
    [
      'personnel-reserve/order-184-2015',
      'extract-issued',
      'extract',
      'working-days {"days":1}',
      'step:order-signed',
      'app.2 p.5 pp.4',
    ],
    [
      'personnel-reserve/order-184-2015',
      'extract-issued',
      'cumulative-from-receipt-a',
      'working-days {"days":5}',
      'step:application-submitted',
      'app.2 p.7 pp.3 competition-recommended | alt working-days {"days":7} p.5',
    ],
    [
      'personnel-reserve/order-184-2015',
      'extract-issued',
      'cumulative-from-receipt-b',
      'working-days {"days":1}',
      'step:application-submitted',
      'app.2 p.7 pp.3 priority-graduates | alt working-days {"days":7} p.5',
    ],
    [
      'personnel-reserve/order-184-2015',
      'corps-a-documents-reviewed',
      'review',
      'working-days {"days":10}',
      'cohortDate:document-acceptance-end',
      'app.2 p.7 pp.1 corps-a-selection',
    ],
    [
      'personnel-reserve/order-184-2015',
      'admission-to-testing-decided',
      'decision',
      'working-days {"days":5}',
      'step:corps-a-documents-reviewed',
      'app.2 p.7 pp.2 corps-a-selection',
    ],
    [
      'personnel-reserve/order-184-2015',
      'corps-a-test-completed',
      'testing-month',
      'calendar-period {"months":1}',
      // The month of testing from the first testing day the schedule names; from the admission decision, the other reading.
      'stepDataDate:{"step":"test-schedule-announced","field":"testingStartsOn"}',
      'app.2 p.7 pp.3 corps-a-selection | alt calendar-period {"months":1} p.7 pp.3 from step:admission-to-testing-decided',
    ],
    [
      'personnel-reserve/order-184-2015',
      'information-received',
      'commission-deadline',
      'by-programme {}',
      'step:information-requested',
      'app.2 p.7 pp.4 corps-a-selection',
    ],
    [
      'personnel-reserve/order-184-2015',
      'candidate-list-sent',
      'list',
      'working-days {"days":15}',
      'step:information-received',
      'app.2 p.7 pp.4 corps-a-selection',
    ],
    [
      'personnel-reserve/order-184-2015',
      'test-schedule-announced',
      'published-before-testing',
      'working-days-before {"days":5}',
      'stepDataDate:{"step":"test-schedule-announced","field":"testingStartsOn"}',
      'app.2 p.7 pp.3 corps-a-selection',
    ],
  ];

  it('has exactly these limits', () => {
    const actual = catalog.versions.flatMap((v) =>
      v.steps.flatMap((s) =>
        s.limits.map((l) => {
          const { kind, ...parameters } = l.spec as { kind: string };
          const [anchorKind, anchorValue] = Object.entries(l.anchor)[0];
          const c = l.clause;
          const clause = `${c.appendix ? `app.${c.appendix} ` : ''}p.${c.paragraph}${c.subparagraph ? ` pp.${c.subparagraph}` : ''}${c.track ? ` ${c.track}` : ''}`;
          let alternative = '';
          if (l.alternative) {
            const { kind: altKind, ...altParameters } = l.alternative.spec as { kind: string };
            const a = l.alternative.clause;
            alternative = ` | alt ${altKind} ${JSON.stringify(altParameters)} p.${a.paragraph}${a.subparagraph ? ` pp.${a.subparagraph}` : ''}`;
            const own = l.alternative.anchor ? Object.entries(l.alternative.anchor)[0] : undefined;
            if (own) alternative += ` from ${own[0]}:${typeof own[1] === 'string' ? own[1] : JSON.stringify(own[1])}`;
          }
          return [
            v.versionId,
            s.id,
            l.id,
            `${kind} ${JSON.stringify(parameters)}`,
            `${anchorKind}:${typeof anchorValue === 'string' ? anchorValue : JSON.stringify(anchorValue)}`,
            `${clause}${alternative}`,
          ];
        }),
      ),
    );
    expect(actual.sort()).toEqual([...expected].sort());
  });

  it.each(expected)('%s %s/%s: the engine computes it from its anchor', (versionId, stepId, limitId) => {
    const limit = catalog.byId
      .get(versionId)!
      .steps.find((s) => s.id === stepId)!
      .limits.find((l) => l.id === limitId)!;
    const anchor = new Date('2015-09-14T10:00:00+06:00');
    const result = computeDeadline(limit, anchor, calendar);
    if (limit.spec.kind === 'by-programme') expect(result.deadline).toBeNull();
    // Counted back from a later date: the deadline lies before it.
    else if (limit.spec.kind === 'working-days-before')
      expect(result.deadline!.getTime()).toBeLessThan(anchor.getTime());
    else expect(result.deadline!.getTime()).toBeGreaterThan(anchor.getTime());
    expect(result.explanation.clause).toEqual(limit.clause);
  });

  it('the personnel reserve track A deadline from a Friday receipt', () => {
    const limit = catalog.byId
      .get('personnel-reserve/order-184-2015')!
      .steps.find((s) => s.id === 'extract-issued')!
      .limits.find((l) => l.id === 'cumulative-from-receipt-a')!;
    // Received Friday 2015-12-11; 16-17 December are Independence Day: 14, 15, 18, 21, 22 December.
    const result = computeDeadline(limit, new Date('2015-12-11T16:00:00+06:00'), calendar);
    expect(result.explanation.lastDay).toBe('2015-12-22');
  });
});

describe('version resolution', () => {
  const at = (local: string) => new Date(local);

  it.each([
    ['academy-admission', '2015-08-11T00:00:00+06:00', 'academy-admission/order-184-2015'],
    ['academy-admission', '2016-08-08T23:59:59+06:00', 'academy-admission/order-184-2015'],
    ['academy-admission', '2019-03-12T00:00:00+06:00', 'academy-admission/order-58-2019'],
    ['academy-admission', '2020-12-10T23:59:00+06:00', 'academy-admission/order-58-2019'],
    ['civil-service-testing', '2016-01-05T09:00:00Z', 'civil-service-testing/order-184-2015'],
  ])('%s at %s → %s', (serviceId, instant, versionId) => {
    expect(resolveVersion(catalog, serviceId, at(instant), zone).versionId).toBe(versionId);
  });

  it.each([
    ['academy-admission', '2015-08-10T23:59:59+06:00'],
    ['academy-admission', '2016-08-09T00:00:00+06:00'],
    ['academy-admission', '2018-06-01T12:00:00+06:00'],
    ['academy-admission', '2020-12-11T00:00:00+06:00'],
    ['academy-retraining', '2019-06-01T12:00:00+06:00'],
  ])('%s at %s: none in force, and the error names the service, the instant and the versions', (serviceId, instant) => {
    let error: unknown;
    try {
      resolveVersion(catalog, serviceId, at(instant), zone);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(NoVersionInForceError);
    expect((error as Error).message).toContain(`"${serviceId}"`);
    expect((error as Error).message).toContain(at(instant).toISOString());
    expect((error as Error).message).toContain(`${serviceId}/order-184-2015 2015-08-11 to 2016-08-08`);
  });

  it('the local date decides: 2016-08-08T20:00Z is already 9 August in Almaty', () => {
    expect(() => resolveVersion(catalog, 'academy-admission', new Date('2016-08-08T20:00:00Z'), zone)).toThrow(
      NoVersionInForceError,
    );
  });

  it('an unknown service is named with the known ones', () => {
    expect(() => resolveVersion(catalog, 'driving-licence', new Date(), zone)).toThrow(UnknownServiceError);
    expect(() => resolveVersion(catalog, 'driving-licence', new Date(), zone)).toThrow(
      /driving-licence.*personnel-reserve/,
    );
  });
});

describe('lint', () => {
  const report = lintCatalog(catalog);
  const find = (versionId: string, stepId: string) =>
    report.versions.find((v) => v.versionId === versionId)!.contradictions.filter((c) => c.stepId === stepId);

  it('has no errors on the shipped catalog', () => {
    expect(report.errors).toBe(0);
  });

  it('finds the contradictions of the texts and applies the stricter reading', () => {
    expect(find('civil-service-testing/order-184-2015', 'test-result-issued')).toEqual([
      expect.objectContaining({
        rule: 'stricter-applied',
        applied: expect.objectContaining({ spec: { kind: 'minutes', minutes: 20 } }),
        alternative: expect.objectContaining({ spec: { kind: 'minutes', minutes: 30 } }),
      }),
    ]);
    expect(
      find('personnel-reserve/order-184-2015', 'extract-issued').map((c) => [
        c.applied.spec,
        c.alternative.spec,
        c.applied.clause.track,
      ]),
    ).toEqual([
      [{ kind: 'working-days', days: 5 }, { kind: 'working-days', days: 7 }, 'competition-recommended'],
      [{ kind: 'working-days', days: 1 }, { kind: 'working-days', days: 7 }, 'priority-graduates'],
    ]);
    expect(find('academy-retraining/order-184-2015', 'group-formed')).toEqual([
      expect.objectContaining({
        rule: 'stricter-applied',
        applied: expect.objectContaining({ spec: { kind: 'working-days', days: 1 } }),
        alternative: expect.objectContaining({ spec: { kind: 'working-days', days: 3 } }),
      }),
    ]);
    const chosen = find('academy-admission/order-58-2019', 'admission-order-drafted')[0];
    expect(chosen.rule).toBe('not-comparable-with-reason');
    expect(chosen.appliedReason).toMatch(/10 August/);
  });

  it('every user-facing label is in Russian and Kazakh; order 184’s Kazakh labels are marked as working translations', () => {
    expect(report.versions.map((v) => [v.versionId, v.labelsNeedingTranslation])).toEqual(
      catalog.versions.map((v) => [v.versionId, 0]),
    );
    // Order 184 has no Kazakh text in the seeds: every Kazakh label of its five appendices is a translation.
    for (const v of report.versions) {
      const labels = JSON.stringify(catalog.byId.get(v.versionId)).match(/"kkSource":"(act|translation)"/g) ?? [];
      if (v.versionId.endsWith('/order-184-2015'))
        expect(new Set(labels)).toEqual(new Set(['"kkSource":"translation"']));
      else expect(new Set(labels)).toEqual(new Set(['"kkSource":"act"']));
      expect(v.kazakhTranslations).toBe(labels.filter((l) => l.includes('translation')).length);
    }
  });

  it('reports a label missing its Kazakh text as an error naming where it is', () => {
    const version = structuredClone(catalog.byId.get('civil-service-testing/order-184-2015')!);
    version.steps[3]!.label = { ru: version.steps[3]!.label.ru, kk: null, kkNeedsTranslation: true };
    const result = lintCatalog({
      versions: [version],
      byId: new Map([[version.versionId, version]]),
      byService: new Map(),
    });
    expect(result.errors).toBe(1);
    expect(result.versions[0]!.labelsNeedingTranslation).toBe(1);
    expect(result.versions[0]!.findings.filter((f) => f.severity === 'error')).toEqual([
      {
        severity: 'error',
        path: 'steps[3].label',
        message: `the Kazakh label is missing («${version.steps[3]!.label.ru}»): user-facing labels exist in Russian and Kazakh`,
      },
    ]);
  });

  it('reports a looser reading applied without a reason as an error', () => {
    const version = catalog.byId.get('academy-retraining/order-184-2015')!;
    const swapped = structuredClone(version);
    const limit = swapped.steps.find((s) => s.id === 'group-formed')!.limits[0];
    [limit.spec, limit.alternative!.spec] = [limit.alternative!.spec, limit.spec];
    const result = lintCatalog({
      versions: [swapped],
      byId: new Map([[swapped.versionId, swapped]]),
      byService: new Map(),
    });
    expect(result.errors).toBe(1);
    expect(result.versions[0].findings.find((f) => f.severity === 'error')!.message).toMatch(
      /looser than the alternative \(1 working day\) and no appliedReason/,
    );
  });
});

describe('lint of readings counted from different starts', () => {
  const withOtherStart = (appliedReason?: string) => {
    const version = structuredClone(catalog.byId.get('academy-retraining/order-184-2015')!);
    const limit = version.steps.find((s) => s.id === 'group-formed')!.limits[0]!;
    limit.alternative = { ...limit.alternative!, spec: limit.spec, anchor: { step: 'application-submitted' } };
    if (appliedReason) limit.appliedReason = appliedReason;
    else delete limit.appliedReason;
    return lintCatalog({ versions: [version], byId: new Map([[version.versionId, version]]), byService: new Map() });
  };

  it('needs the reason for the reading applied, whichever is stricter in a case', () => {
    const result = withOtherStart();
    expect(result.errors).toBe(1);
    expect(result.versions[0]!.findings.find((f) => f.severity === 'error')!.message).toMatch(
      /count from different starts \(from the end of documents-registered, from the end of application-submitted\); state appliedReason/,
    );
    const reasoned = withOtherStart('the text counts it from the registration');
    expect(reasoned.errors).toBe(0);
    expect(reasoned.versions[0]!.contradictions.find((c) => c.stepId === 'group-formed')).toMatchObject({
      rule: 'not-comparable-with-reason',
      applied: { anchor: { step: 'documents-registered' } },
      alternative: { anchor: { step: 'application-submitted' } },
    });
  });
});

describe('lint of conditional limits', () => {
  it('reports an optional step with a limit but no condition as an error', () => {
    const version = structuredClone(catalog.byId.get('academy-admission/order-58-2019')!);
    delete (version.steps.find((s) => s.id === 'refusal-issued') as { dueWhen?: unknown }).dueWhen;
    const result = lintCatalog({
      versions: [version],
      byId: new Map([[version.versionId, version]]),
      byService: new Map(),
    });
    expect(result.errors).toBe(1);
    expect(result.versions[0]!.findings.find((f) => f.severity === 'error')).toMatchObject({
      path: expect.stringMatching(/^steps\[\d+\]\.dueWhen$/),
      message: expect.stringMatching(/"refusal-issued" has a time limit but no condition/),
    });
  });
});

describe('a bad regulation file stops loading with the file, the path and the problem', () => {
  const copies: string[] = [];
  afterAll(() => copies.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

  function brokenCatalog(file: string, mutate: (data: any) => void): { dir: string; target: string } {
    const dir = mkdtempSync(join(tmpdir(), 'regulations-'));
    copies.push(dir);
    cpSync(REGULATIONS, dir, { recursive: true });
    const target = join(dir, file);
    const data = parse(readFileSync(target, 'utf8'));
    mutate(data);
    writeFileSync(target, stringify(data));
    return { dir, target };
  }

  const TESTING = 'civil-service-testing.order-184-2015.yaml';
  const ADMISSION = 'academy-admission.order-184-2015.yaml';
  const RESERVE = 'personnel-reserve.order-184-2015.yaml';
  const O58 = 'academy-admission.order-58-2019.yaml';
  const stepOf = (d: any, id: string) => d.steps.find((s: { id: string }) => s.id === id);
  const indexOf = (file: string, id: string) =>
    (parse(readFileSync(join(REGULATIONS, file), 'utf8')) as { steps: { id: string }[] }).steps.findIndex(
      (s) => s.id === id,
    );

  it('the lint command exits 1 on a label missing its Kazakh text, naming the file’s path to it; 0 on the shipped catalog', () => {
    const lint = (dir: string) =>
      spawnSync(
        process.execPath,
        ['-r', join(ROOT, 'test/support/swc-register.js'), join(ROOT, 'src/cli/main.ts'), 'lint', '--dir', dir],
        { encoding: 'utf8', timeout: 60_000, env: { PATH: process.env.PATH ?? '' } },
      );
    const shipped = lint(REGULATIONS);
    expect(shipped.stdout).toMatch(
      /6 version\(s\), \d+ contradiction\(s\), 0 label\(s\) missing a translation, 0 error\(s\)/,
    );
    expect(shipped.status).toBe(0);
    const { dir } = brokenCatalog(
      TESTING,
      (d) => (d.steps[3].label = { ru: d.steps[3].label.ru, kk: null, kkNeedsTranslation: true }),
    );
    const missing = lint(dir);
    expect(missing.stdout).toContain('error: steps[3].label: the Kazakh label is missing («Допуск к тестированию');
    expect(missing.stdout).toMatch(/1 label\(s\) missing a translation, 1 error\(s\)/);
    expect(missing.status).toBe(1);
  });

  it.each<[string, string, (d: any) => void, string, RegExp]>([
    [
      'unknown event type',
      TESTING,
      (d) => (d.steps[0].eventType = 'ApplicationFiled'),
      'steps[0].eventType',
      /not in the event vocabulary/,
    ],
    [
      'undeclared role',
      TESTING,
      (d) => (d.steps[3].roles = ['proctor']),
      'steps[3].roles[0]',
      /"proctor" is not a declared role/,
    ],
    [
      'unknown step in after',
      TESTING,
      (d) => (d.steps[4].after = ['briefing']),
      'steps[4].after[0]',
      /"briefing" is not a step/,
    ],
    ['cycle', TESTING, (d) => (d.steps[3].after = ['test-result-issued']), 'after', /cycle/],
    [
      'the applicant among the roles that each sign a step',
      TESTING,
      (d) => (d.steps[6].roles = ['test-administrator', 'applicant']),
      'steps[6].requiresAll',
      /cannot include the applicant/,
    ],
    [
      'limit kind',
      TESTING,
      (d) => (d.steps[3].limits[0].spec = { kind: 'hours', hours: 1 }),
      'steps[3].limits[0].spec.kind',
      /./,
    ],
    [
      'negative working days',
      'personnel-reserve.order-184-2015.yaml',
      (d) => (d.steps[3].limits[0].spec.days = -1),
      'steps[3].limits[0].spec.days',
      /./,
    ],
    ['impossible date', TESTING, (d) => (d.act.date = '2015-02-30'), 'act.date', /does not exist/],
    [
      'missing Kazakh label unmarked',
      TESTING,
      (d) => ((d.title.kk = null), delete d.title.kkSource),
      'title.kk',
      /mark kkNeedsTranslation/,
    ],
    [
      'Kazakh label without its source',
      TESTING,
      (d) => delete d.steps[0].label.kkSource,
      'steps[0].label.kkSource',
      /say where the Kazakh label comes from \(act \| translation\)/,
    ],
    ['Kazakh label source not known', TESTING, (d) => (d.title.kkSource = 'machine'), 'title.kkSource', /./],
    [
      'a source for a missing Kazakh label',
      TESTING,
      (d) => ((d.title.kk = null), (d.title.kkNeedsTranslation = true)),
      'title.kkSource',
      /given for a Kazakh label that is missing/,
    ],
    [
      "the other reading's start on a missing step",
      TESTING,
      (d) => (stepOf(d, 'test-result-issued').limits[0].alternative.anchor = { step: 'briefing' }),
      `steps[${indexOf(TESTING, 'test-result-issued')}].limits[0].alternative.anchor.step`,
      /"briefing" is not a step of this version/,
    ],
    [
      'anchor on a missing step',
      TESTING,
      (d) => (d.steps[4].limits[0].anchor = { step: 'admission' }),
      'steps[4].limits[0].anchor.step',
      /not a step/,
    ],
    [
      'clause of another act',
      TESTING,
      (d) => (d.steps[0].clause.act = 'order-172-2017'),
      'steps[0].clause.act',
      /not this version's act/,
    ],
    [
      'overlapping versions',
      'academy-admission.order-58-2019.yaml',
      (d) => (d.effective.from = '2016-01-01'),
      'effective.from',
      /overlaps academy-admission\/order-184-2015/,
    ],
    [
      'version id mismatch',
      TESTING,
      (d) => (d.versionId = 'civil-service-testing/order-185-2015'),
      'versionId',
      /must be "civil-service-testing\/order-184-2015"/,
    ],
    [
      'per-track roles missing a track',
      O58,
      (d) => delete stepOf(d, 'application-submitted').rolesByTrack['qualification-improvement'],
      `steps[${indexOf(O58, 'application-submitted')}].rolesByTrack`,
      /names no roles for track "qualification-improvement"/,
    ],
    [
      'per-track role not among the step’s roles',
      O58,
      (d) => (stepOf(d, 'extract-issued').rolesByTrack.postgraduate = ['signatory']),
      `steps[${indexOf(O58, 'extract-issued')}].rolesByTrack.postgraduate[0]`,
      /"signatory" is not in the step's roles/,
    ],
    [
      'per-track roles for a track the step is not on',
      O58,
      (d) =>
        (stepOf(d, 'admission-order-drafted').rolesByTrack = {
          postgraduate: ['executive-secretary'],
          'qualification-improvement': ['executive-secretary'],
        }),
      `steps[${indexOf(O58, 'admission-order-drafted')}].rolesByTrack.qualification-improvement`,
      /not one of this step's tracks/,
    ],
    [
      'same event twice on a track',
      TESTING,
      (d) => (d.steps[4].eventType = 'AdmittedToTest'),
      'steps[4].eventType',
      /already completes step "admitted-to-test"/,
    ],
    [
      'an optional step with a limit but no condition',
      ADMISSION,
      (d) => delete stepOf(d, 'appeal-resolved').dueWhen,
      `steps[${indexOf(ADMISSION, 'appeal-resolved')}].dueWhen`,
      /must name the act that makes it due/,
    ],
    [
      'a condition on a step that does not exist',
      ADMISSION,
      (d) => (stepOf(d, 'appeal-resolved').dueWhen = [{ step: 'appeal-filed' }]),
      `steps[${indexOf(ADMISSION, 'appeal-resolved')}].dueWhen[0].step`,
      /"appeal-filed" is not a step/,
    ],
    [
      'a step that waits for a step that does not exist',
      ADMISSION,
      (d) => (stepOf(d, 'not-admitted').waitsFor = ['appeal-heard']),
      `steps[${indexOf(ADMISSION, 'not-admitted')}].waitsFor[0]`,
      /"appeal-heard" is not a step/,
    ],
    [
      'a step that waits for itself',
      ADMISSION,
      (d) => (stepOf(d, 'not-admitted').waitsFor = ['not-admitted']),
      `steps[${indexOf(ADMISSION, 'not-admitted')}].waitsFor[0]`,
      /cannot wait for itself/,
    ],
    [
      'a step that waits for a step of another track',
      O58,
      (d) => (stepOf(d, 'competition-decided').waitsFor = ['enrolment-order-signed']),
      `steps[${indexOf(O58, 'competition-decided')}].waitsFor[0]`,
      /shares no track/,
    ],
    [
      'a step that waits for the same step twice',
      ADMISSION,
      (d) => (stepOf(d, 'not-admitted').waitsFor = ['appeal-resolved', 'appeal-resolved']),
      `steps[${indexOf(ADMISSION, 'not-admitted')}].waitsFor[1]`,
      /listed twice/,
    ],
    [
      'a step that waits for a step due in every case (which belongs in after)',
      ADMISSION,
      (d) => (stepOf(d, 'not-admitted').waitsFor = ['documents-accepted']),
      `steps[${indexOf(ADMISSION, 'not-admitted')}].waitsFor[0]`,
      /due in every case/,
    ],
    [
      'a step that waits for an optional step with no condition (it would hold where the step never happens)',
      ADMISSION,
      (d) => (stepOf(d, 'not-admitted').waitsFor = ['appeal-opened']),
      `steps[${indexOf(ADMISSION, 'not-admitted')}].waitsFor[0]`,
      /optional with no condition .* also in cases where it never happens/,
    ],
    [
      'a step that waits for a repeatable step (the hold would end at its first time)',
      ADMISSION,
      (d) => (stepOf(d, 'appeal-resolved').repeatable = true),
      `steps[${indexOf(ADMISSION, 'not-admitted')}].waitsFor[0]`,
      /"appeal-resolved" is repeatable/,
    ],
    [
      'a step that waits for a step made due by one act but following an optional one the case may never take',
      ADMISSION,
      (d) => (stepOf(d, 'appeal-resolved').dueWhen = [{ step: 'entrance-exams-passed', outcome: 'negative' }]),
      `steps[${indexOf(ADMISSION, 'not-admitted')}].waitsFor[0]`,
      /follows the optional step "appeal-opened", which is not among its dueWhen/,
    ],
    [
      'a step that waits for a step that follows it: the case could never go on',
      ADMISSION,
      (d) => (stepOf(d, 'appeal-opened').waitsFor = ['appeal-resolved']),
      `steps[${indexOf(ADMISSION, 'appeal-opened')}].waitsFor`,
      /wait for each other, through after and waitsFor: .*appeal-opened.*appeal-resolved/,
    ],
    [
      'a step whose chance ends with a step that does not exist',
      TESTING,
      (d) => (stepOf(d, 'portal-refusal').until = ['admitted']),
      `steps[${indexOf(TESTING, 'portal-refusal')}].until[0]`,
      /"admitted" is not a step/,
    ],
    [
      'a step whose chance ends with itself',
      TESTING,
      (d) => (stepOf(d, 'portal-refusal').until = ['portal-refusal']),
      `steps[${indexOf(TESTING, 'portal-refusal')}].until[0]`,
      /cannot end its own chance/,
    ],
    [
      'a step whose chance ends with a step of another track',
      O58,
      (d) => (stepOf(d, 'group-formed').until = ['entrance-exams-passed']),
      `steps[${indexOf(O58, 'group-formed')}].until[0]`,
      /shares no track/,
    ],
    [
      'a step whose chance ends with the same step twice',
      TESTING,
      (d) => (stepOf(d, 'portal-refusal').until = ['admitted-to-test', 'admitted-to-test']),
      `steps[${indexOf(TESTING, 'portal-refusal')}].until[1]`,
      /listed twice/,
    ],
    [
      'a step whose chance ends with a step it follows: it could never be recorded',
      TESTING,
      (d) => (stepOf(d, 'test-results-signed').until = ['admitted-to-test']),
      `steps[${indexOf(TESTING, 'test-results-signed')}].until[0]`,
      /"admitted-to-test" comes before this step .* could never be recorded/,
    ],
    [
      'a step every case needs whose chance may end: the case would be stuck',
      ADMISSION,
      (d) => (stepOf(d, 'competition-decided').until = ['appeal-opened']),
      `steps[${indexOf(ADMISSION, 'competition-decided')}].until`,
      /only an optional step may have its chance ended/,
    ],
    [
      'an optional step with limits whose chance may end: its limits would read overdue',
      ADMISSION,
      (d) => (stepOf(d, 'appeal-resolved').until = ['competition-decided']),
      `steps[${indexOf(ADMISSION, 'appeal-resolved')}].until`,
      /owes no time/,
    ],
    [
      'a step that waits for a step whose chance may end: it would wait for ever',
      ADMISSION,
      (d) => {
        stepOf(d, 'appeal-resolved').until = ['competition-decided'];
        stepOf(d, 'appeal-resolved').limits = [];
      },
      `steps[${indexOf(ADMISSION, 'not-admitted')}].waitsFor[0]`,
      /may stop being recordable \(until\): this step would wait for it for ever/,
    ],
    [
      'a step bounded by the period of a step that does not exist',
      ADMISSION,
      (d) => (stepOf(d, 'appeal-opened').withinPeriod = { step: 'appeal-heard', limit: 'appeal-period' }),
      `steps[${indexOf(ADMISSION, 'appeal-opened')}].withinPeriod.step`,
      /"appeal-heard" is not a step/,
    ],
    [
      'a step bounded by a limit its step does not have',
      ADMISSION,
      (d) => (stepOf(d, 'appeal-opened').withinPeriod = { step: 'appeal-resolved', limit: 'appeal-days' }),
      `steps[${indexOf(ADMISSION, 'appeal-opened')}].withinPeriod.limit`,
      /"appeal-days" is not a limit of step "appeal-resolved" \(appeal-period\)/,
    ],
    [
      'a step bounded by a period that starts with a step it does not follow: its end unknown when it is open',
      ADMISSION,
      (d) => (stepOf(d, 'portal-refusal').withinPeriod = { step: 'appeal-resolved', limit: 'appeal-period' }),
      `steps[${indexOf(ADMISSION, 'portal-refusal')}].withinPeriod.limit`,
      /must count from a step this step follows/,
    ],
    [
      'a step every case needs bounded by a period: the case would be stuck',
      ADMISSION,
      (d) => (stepOf(d, 'competition-decided').withinPeriod = { step: 'appeal-resolved', limit: 'appeal-period' }),
      `steps[${indexOf(ADMISSION, 'competition-decided')}].withinPeriod`,
      /only an optional step may have its chance ended \(withinPeriod\)/,
    ],
    [
      'a step that waits for a step bounded by a period: it would wait for ever',
      ADMISSION,
      (d) => (stepOf(d, 'appeal-resolved').withinPeriod = { step: 'appeal-resolved', limit: 'appeal-period' }),
      `steps[${indexOf(ADMISSION, 'not-admitted')}].waitsFor[0]`,
      /may stop being recordable \(withinPeriod\): this step would wait for it for ever/,
    ],
    [
      'a condition of an unknown outcome',
      ADMISSION,
      (d) => (stepOf(d, 'not-admitted').dueWhen = [{ step: 'entrance-exams-passed', outcome: 'failed' }]),
      `steps[${indexOf(ADMISSION, 'not-admitted')}].dueWhen[0].outcome`,
      /./,
    ],
    [
      'a limit counted back from a date the act does not record',
      RESERVE,
      (d) => (stepOf(d, 'test-schedule-announced').limits[0].anchor = { step: 'admission-to-testing-decided' }),
      `steps[${indexOf(RESERVE, 'test-schedule-announced')}].limits[0].spec.kind`,
      /go together/,
    ],
    [
      'an intake window whose last day would move to a working day (the filing is checked without the calendar)',
      O58,
      (d) => (d.intakeWindows[0].spec.untilMovesToWorkingDay = true),
      'intakeWindows[0].spec.untilMovesToWorkingDay',
      /keeps its dates/,
    ],
    [
      'a period counted forward from a date its own act records',
      RESERVE,
      (d) => (stepOf(d, 'test-schedule-announced').limits[0].spec = { kind: 'calendar-period', months: 1 }),
      `steps[${indexOf(RESERVE, 'test-schedule-announced')}].limits[0].anchor.stepDataDate.step`,
      /would start when it ends/,
    ],
    [
      'a period counted from a date an act records that does not come before the step',
      RESERVE,
      (d) =>
        (stepOf(d, 'admission-to-testing-decided').limits[0].anchor = {
          stepDataDate: { step: 'test-schedule-announced', field: 'testingStartsOn' },
        }),
      `steps[${indexOf(RESERVE, 'admission-to-testing-decided')}].limits[0].anchor.stepDataDate.step`,
      /is not a step this one follows/,
    ],
    [
      "the other reading's anchor names no step of the version",
      RESERVE,
      (d) => (stepOf(d, 'corps-a-test-completed').limits[0].alternative.anchor = { step: 'testing-decided' }),
      `steps[${indexOf(RESERVE, 'corps-a-test-completed')}].limits[0].alternative.anchor.step`,
      /"testing-decided" is not a step/,
    ],
    [
      'a step recording a cohort date the version does not declare',
      RESERVE,
      (d) => (stepOf(d, 'document-acceptance-end-recorded').setsCohortDate = 'round-end'),
      `steps[${indexOf(RESERVE, 'document-acceptance-end-recorded')}].setsCohortDate`,
      /"round-end" is not a declared cohort date/,
    ],
    [
      'the applicant recording a cohort date after the filing',
      RESERVE,
      (d) => (stepOf(d, 'document-acceptance-end-recorded').roles = ['applicant', 'employee']),
      `steps[${indexOf(RESERVE, 'document-acceptance-end-recorded')}].roles`,
      /only the provider's staff record it/,
    ],
    [
      'a cohort date recorded by an act of another type',
      RESERVE,
      (d) => (stepOf(d, 'document-acceptance-end-recorded').eventType = 'DocumentsAccepted'),
      `steps[${indexOf(RESERVE, 'document-acceptance-end-recorded')}].eventType`,
      /exactly when its act is CohortDateRecorded/,
    ],
  ])('%s', (_name, file, mutate, path, problem) => {
    const { dir, target } = brokenCatalog(file, mutate);
    let error: unknown;
    try {
      loadCatalog(dir);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(CatalogError);
    const failure = (error as CatalogError).failures.find((f) => f.file === target);
    expect(failure).toBeDefined();
    const hit = failure!.problems.find((p) => p.path.includes(path));
    expect(hit).toBeDefined();
    expect(hit!.problem).toMatch(problem);
    expect((error as Error).message).toContain(target);
  });

  // A hand merge of two corrections refused any other reading counted from a date an act records, which one of them had
  // allowed (a month counted forward from the schedule's first testing day), and named a wrong other start twice.
  describe('the other reading of a limit', () => {
    it('may count forward from a date an earlier act records: corps «A» month of testing with its readings swapped loads', () => {
      const { dir } = brokenCatalog(RESERVE, (d) => {
        const limit = stepOf(d, 'corps-a-test-completed').limits[0];
        const applied = limit.anchor;
        limit.anchor = limit.alternative.anchor;
        limit.alternative.anchor = applied;
      });
      expect(() => loadCatalog(dir)).not.toThrow();
    });

    it('naming no step of the version is one problem, said once', () => {
      const { dir, target } = brokenCatalog(RESERVE, (d) => {
        stepOf(d, 'corps-a-test-completed').limits[0].alternative.anchor = { step: 'nope' };
      });
      let error: unknown;
      try {
        loadCatalog(dir);
      } catch (e) {
        error = e;
      }
      const problems = (error as CatalogError).failures.find((f) => f.file === target)!.problems;
      expect(problems.filter((p) => p.problem.includes('"nope"'))).toHaveLength(1);
    });
  });
});
