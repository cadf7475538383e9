/**
 * Lint of the catalog: the contradictions inside each regulation's text and the reading applied.
 * Rule: the stricter reading applies unless the file states a reason for the other; the other
 * reading is always kept and reported.
 */
import { anchorKey, type Anchor, type ClauseRef, type Limit, type LimitSpec } from '../../deadlines/domain/limit';
import type { Catalog, RegulationVersion } from './catalog';

export interface Contradiction {
  stepId: string;
  limitId: string;
  /** With the anchors of both readings where the other counts from another start. */
  applied: { spec: LimitSpec; clause: ClauseRef; anchor?: Anchor };
  alternative: { spec: LimitSpec; clause: ClauseRef; anchor?: Anchor };
  /** Which reading the rule picks: the applied one is the stricter (or the only comparable) one. */
  rule: 'stricter-applied' | 'looser-applied-with-reason' | 'not-comparable-with-reason';
  appliedReason?: string;
}

export interface LintFinding {
  severity: 'error' | 'warning' | 'info';
  path: string;
  message: string;
}

export interface VersionLint {
  versionId: string;
  file: string;
  contradictions: Contradiction[];
  findings: LintFinding[];
  labelsNeedingTranslation: number;
  /** Kazakh labels that are working translations (kkSource: translation), not the act's own words. */
  kazakhTranslations: number;
}

export interface LintReport {
  versions: VersionLint[];
  errors: number;
}

/** A rough upper bound of a limit in minutes, only to compare two readings of the same limit. */
export function approximateMinutes(spec: LimitSpec): number | null {
  switch (spec.kind) {
    case 'minutes':
      return spec.minutes;
    case 'working-days':
      return spec.days * 1440 * 1.4;
    case 'calendar-period':
      return ((spec.months ?? 0) * 31 + (spec.days ?? 0)) * 1440;
    default:
      return null;
  }
}

export function describeSpec(spec: LimitSpec): string {
  switch (spec.kind) {
    case 'minutes':
      return `${spec.minutes} min`;
    case 'working-days':
      return `${spec.days} working day${spec.days === 1 ? '' : 's'}`;
    case 'calendar-period':
      return [spec.months ? `${spec.months} month(s)` : '', spec.days ? `${spec.days} day(s)` : '']
        .filter(Boolean)
        .join(' ');
    case 'annual-window':
      return 'annual window';
    case 'by-programme':
      return 'by programme';
    case 'working-days-before':
      return `${spec.days} working day${spec.days === 1 ? '' : 's'} before a recorded date`;
  }
}

export function describeClause(clause: ClauseRef): string {
  return [
    clause.act,
    clause.appendix !== undefined ? `app. ${clause.appendix}` : '',
    `p.${clause.paragraph}`,
    clause.subparagraph !== undefined ? `pp.${clause.subparagraph}` : '',
    clause.track ? `track ${clause.track}` : '',
  ]
    .filter(Boolean)
    .join(' ');
}

/** Which reading a limit with an alternative applies, by the rule: stricter unless a reason is stated. */
export function readingOf(limit: Limit): { rule: Contradiction['rule']; error?: string; warning?: string } {
  if (!limit.alternative) return { rule: 'stricter-applied' };
  // Readings counted from different starts: which is stricter depends on the case, so the choice needs its reason.
  if (limit.alternative.anchor && anchorKey(limit.alternative.anchor) !== anchorKey(limit.anchor))
    return {
      rule: 'not-comparable-with-reason',
      ...(limit.appliedReason
        ? {}
        : {
            error: `the two readings count from different starts (${describeAnchor(limit.anchor)}, ${describeAnchor(limit.alternative.anchor)}); state appliedReason for the reading applied`,
          }),
    };
  const applied = approximateMinutes(limit.spec);
  const other = approximateMinutes(limit.alternative.spec);
  if (applied === null || other === null) {
    return {
      rule: 'not-comparable-with-reason',
      ...(limit.appliedReason
        ? {}
        : { error: 'the two readings cannot be compared; state appliedReason for the reading applied' }),
    };
  }
  if (applied > other) {
    return {
      rule: 'looser-applied-with-reason',
      ...(limit.appliedReason
        ? {}
        : {
            error: `the applied reading (${describeSpec(limit.spec)}) is looser than the alternative (${describeSpec(limit.alternative.spec)}) and no appliedReason is given`,
          }),
    };
  }
  if (applied === other)
    return { rule: 'stricter-applied', warning: 'the alternative reading is the same as the applied one; drop it' };
  return { rule: 'stricter-applied' };
}

/** Where a limit's clock starts, in words: `step:X` (X done), `stepStarted:X` (X started), a cohort or recorded date. */
export function describeAnchor(anchor: Anchor): string {
  if ('step' in anchor) return `from the end of ${anchor.step}`;
  if ('stepStarted' in anchor) return `from the start of ${anchor.stepStarted}`;
  if ('cohortDate' in anchor) return `from cohort date ${anchor.cohortDate}`;
  return `from ${anchor.stepDataDate.step}'s ${anchor.stepDataDate.field}`;
}

export function lintVersion(version: RegulationVersion): VersionLint {
  const contradictions: Contradiction[] = [];
  const findings: LintFinding[] = [];
  version.steps.forEach((step, i) => {
    step.limits.forEach((limit, j) => {
      if (!limit.alternative) return;
      const path = `steps[${i}].limits[${j}]`;
      const reading = readingOf(limit);
      if (reading.error) findings.push({ severity: 'error', path, message: reading.error });
      if (reading.warning) findings.push({ severity: 'warning', path, message: reading.warning });
      contradictions.push({
        stepId: step.id,
        limitId: limit.id,
        applied: {
          spec: limit.spec,
          clause: limit.clause,
          ...(limit.alternative.anchor ? { anchor: limit.anchor } : {}),
        },
        alternative: limit.alternative,
        rule: reading.rule,
        ...(limit.appliedReason ? { appliedReason: limit.appliedReason } : {}),
      });
    });
    // The loader refuses such a file too; lint says it of any version it is handed.
    if (step.optional && step.limits.length > 0 && !step.dueWhen) {
      findings.push({
        severity: 'error',
        path: `steps[${i}].dueWhen`,
        message: `optional step "${step.id}" has a time limit but no condition (dueWhen): its limit would count in cases where the step never became due`,
      });
    }
    if (!step.optional && !step.terminal && step.limits.length === 0) {
      findings.push({
        severity: 'info',
        path: `steps[${i}]`,
        message: `step "${step.id}" has no time limit in the text`,
      });
    }
  });
  version.notes.forEach((note, i) => findings.push({ severity: 'info', path: `notes[${i}]`, message: note }));
  // Every user-facing label exists in Russian and Kazakh: a missing one is an error, though the service still starts.
  const untranslated = labelsWhere(version, (l) => l.kkNeedsTranslation === true || l.ruNeedsTranslation === true);
  for (const { path, label } of untranslated) {
    const missing = [label.ruNeedsTranslation ? 'Russian' : '', label.kkNeedsTranslation ? 'Kazakh' : '']
      .filter(Boolean)
      .join(' and ');
    findings.push({
      severity: 'error',
      path,
      message: `the ${missing} label is missing («${label.ru ?? label.kk}»): user-facing labels exist in Russian and Kazakh`,
    });
  }
  const kazakhTranslations = labelsWhere(version, (l) => l.kkSource === 'translation').length;
  return {
    versionId: version.versionId,
    file: version.file,
    contradictions,
    findings,
    labelsNeedingTranslation: untranslated.length,
    kazakhTranslations,
  };
}

export function lintCatalog(catalog: Catalog): LintReport {
  const versions = catalog.versions.map(lintVersion);
  return {
    versions,
    errors: versions.reduce((n, v) => n + v.findings.filter((f) => f.severity === 'error').length, 0),
  };
}

export function formatLintReport(report: LintReport): string {
  const lines: string[] = [];
  for (const v of report.versions) {
    lines.push(`${v.versionId}  (${v.file})`);
    if (v.contradictions.length === 0) lines.push('  no contradictions recorded');
    for (const c of v.contradictions) {
      lines.push(`  contradiction in step ${c.stepId}, limit ${c.limitId}:`);
      const from = (anchor: Anchor | undefined) => (anchor ? ` ${describeAnchor(anchor)}` : '');
      lines.push(
        `    applied:     ${describeSpec(c.applied.spec)}${from(c.applied.anchor)}  [${describeClause(c.applied.clause)}]${c.applied.clause.quote ? `  «${c.applied.clause.quote}»` : ''}`,
      );
      lines.push(
        `    alternative: ${describeSpec(c.alternative.spec)}${from(c.alternative.anchor)}  [${describeClause(c.alternative.clause)}]${c.alternative.clause.quote ? `  «${c.alternative.clause.quote}»` : ''}`,
      );
      lines.push(
        `    reading:     ${c.rule === 'stricter-applied' ? 'the stricter reading is applied' : `chosen: ${c.appliedReason ?? '(no reason given)'}`}`,
      );
    }
    for (const f of v.findings) lines.push(`  ${f.severity}: ${f.path}: ${f.message}`);
    if (v.kazakhTranslations > 0)
      lines.push(
        `  info: ${v.kazakhTranslations} Kazakh label(s) are working translations (kkSource: translation), to check against the act's official Kazakh text`,
      );
  }
  lines.push(
    `${report.versions.length} version(s), ${report.versions.reduce((n, v) => n + v.contradictions.length, 0)} contradiction(s), ${report.versions.reduce((n, v) => n + v.labelsNeedingTranslation, 0)} label(s) missing a translation, ${report.errors} error(s)`,
  );
  return lines.join('\n');
}

type LabelLike = {
  ru?: string | null;
  kk?: string | null;
  kkSource?: string;
  kkNeedsTranslation?: boolean;
  ruNeedsTranslation?: boolean;
};

/** Every label of the version (an object with ru and kk) that matches, with its path in the file. */
function labelsWhere(
  version: RegulationVersion,
  test: (label: LabelLike) => boolean,
): { path: string; label: LabelLike }[] {
  const found: { path: string; label: LabelLike }[] = [];
  const walk = (value: unknown, path: string) => {
    if (Array.isArray(value)) value.forEach((v, i) => walk(v, `${path}[${i}]`));
    else if (value && typeof value === 'object') {
      const record = value as Record<string, unknown>;
      if ('ru' in record && 'kk' in record) {
        if (test(record as LabelLike)) found.push({ path, label: record as LabelLike });
        return;
      }
      for (const [key, v] of Object.entries(record)) walk(v, path ? `${path}.${key}` : key);
    }
  };
  const { file: _file, ...data } = version;
  walk(data, '');
  return found;
}
