/**
 * `npm run cli -- erase --iin <iin> | --subject <id> | --case <id> --basis "<text>" --reference "<law ref>" [--by NAME]` and
 * `npm run cli -- retention-report`: the operator's erasure and the list of what is due. Both take the log writer's
 * role, so the service is stopped first (or use the admin endpoint of the running API for an erasure).
 */
import { userInfo } from 'node:os';
import { openInfrastructure, type Infrastructure } from '../app/infrastructure';
import { createLogger } from '../shared/logging/logger';
import { checkIin } from '../modules/identity/domain/iin';
import { eraseSubject, retentionDue, type ErasureOutcome } from '../modules/personal-data/commands/erase-subject';
import { closedCases, erasureDeps } from '../modules/personal-data/personal-data.module';
import {
  CASE_ID,
  CASE_ID_ALLOWED,
  ERASURE_TEXT,
  erasureTextProblem,
  type ErasureTextField,
} from '../modules/personal-data/domain/erasure-record';
import { commandArgs, configWithDataDir } from '../shared/cli/cli-command';

const USAGE = `usage: npm run cli -- erase (--iin <iin> | --subject <id> | --case <id>) --basis "<text>" --reference "<law ref>" [--by NAME] [--data-dir DIR]

erase: destroys the data subject's key (every encrypted personal field of their acts then reads "erased"), records
a PersonalDataErased event with the basis and reference, and scrubs the read models. --subject (from the report)
erases the person the subject belongs to, their cases filed before encryption included; --case erases the applicant
of a case filed before encryption, who has no subject. Refused, naming the cases, while a case of the person is open
or its version's retention period runs. --by (default: your user name) is recorded too: no IIN in it or the basis.
Stop the service first.`;

const REPORT_USAGE = `usage: npm run cli -- retention-report [--data-dir DIR]

Lists the people whose erasure would be done now (every case of theirs closed and past its version's retention
period, not erased already), with their cases and the erase command for each. Reads the cases read model; takes
the log writer's role, so stop the service first.`;

/** The erasure's answer as an operator reads it: what was done, and what the log keeps in clear, said plainly. */
export function describeErasure(outcome: ErasureOutcome): string {
  if (!outcome.ok) {
    const { refusal } = outcome;
    // The command line's name for the field the refusal names.
    const option = refusal.kind === 'personal-data-in-record' ? `--${refusal.field}: ` : '';
    return `erase: refused (${refusal.kind}): ${option}${refusal.detail}`;
  }
  const d = outcome.done;
  const lines = [
    `erase: erased ${d.subjects.length} subject key(s) for ${d.cases.length} case(s): ${d.cases.map((c) => `${c.caseId} (${c.versionId})`).join(', ')}; recorded at position(s) ${d.positions.join(', ')}`,
    'erase: the read models show "erased" for the applicant and the acts\' personal fields once the projections have met the event',
  ];
  if (d.clearTextActs > 0) {
    lines.push(
      `erase: WARNING: ${d.clearTextActs} act(s) of these cases were recorded with personal data in clear (before it was encrypted, or naming the citizen who acted as their token named them); the append-only log keeps them readable and no erasure can remove them` +
        (d.clearTextCases.length ? ` (cases ${d.clearTextCases.join(', ')})` : ''),
    );
  }
  return lines.join('\n');
}

export async function run(argv: string[]): Promise<number> {
  const command = 'erase';
  const args = commandArgs(command, USAGE, argv, {
    options: {
      iin: { type: 'string' },
      subject: { type: 'string' },
      case: { type: 'string' },
      basis: { type: 'string' },
      reference: { type: 'string' },
      by: { type: 'string' },
      'data-dir': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (typeof args === 'number') return args;
  const values = args.values;
  const problems: string[] = [];
  if ([values.iin, values.subject, values.case].filter((v) => v !== undefined).length !== 1)
    problems.push('give one of --iin, --subject or --case');
  if (values.iin !== undefined) {
    const check = checkIin(values.iin);
    if (!check.valid) problems.push(`--iin is not a valid IIN: ${check.problem.message}`);
  }
  if (values.case !== undefined && !CASE_ID.test(values.case))
    problems.push(`--case is not a case id: ${CASE_ID_ALLOWED}`);
  // The HTTP body's rules (erasure-record.ts); --by may be left out (your user name), not given empty.
  const texts = { basis: values.basis, reference: values.reference, by: values.by ?? userName() };
  for (const field of Object.keys(texts) as ErasureTextField[]) {
    const problem = erasureTextProblem(field, texts[field]);
    if (problem) problems.push(`--${field} ${problem}: ${ERASURE_TEXT[field].allowed}`);
  }
  if (problems.length) {
    process.stderr.write(`${command}: ${problems.join('; ')}\n\n${USAGE}\n`);
    return 2;
  }
  const infra = await open(values['data-dir']);
  if (typeof infra === 'number') return infra;
  try {
    const outcome = await eraseSubject(erasureDeps(infra), {
      ...(values.iin !== undefined
        ? { iin: values.iin }
        : values.subject !== undefined
          ? { subjectId: values.subject }
          : { caseId: values.case! }),
      basis: texts.basis!.trim(),
      reference: texts.reference!.trim(),
      by: texts.by!.trim(),
    });
    (outcome.ok ? process.stdout : process.stderr).write(`${describeErasure(outcome)}\n`);
    return outcome.ok ? 0 : 1;
  } finally {
    await infra.close();
  }
}

/** Who erases when --by is left out: the user running the command, where the system has a name for them. */
function userName(): string | undefined {
  try {
    return userInfo().username;
  } catch {
    // A user id with no entry in the system's user list (a container's): --by is then required.
    return undefined;
  }
}

async function open(dataDir: string | undefined): Promise<Infrastructure | number> {
  const config = configWithDataDir(dataDir);
  if (config === 78) return config;
  return openInfrastructure(config, createLogger(process.env.LOG_LEVEL || 'warn'), {
    projections: 'none',
    writesLog: true,
  });
}

export async function runReport(argv: string[]): Promise<number> {
  const args = commandArgs('retention-report', REPORT_USAGE, argv, {
    options: { 'data-dir': { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  });
  if (typeof args === 'number') return args;
  const values = args.values;
  const infra = await open(values['data-dir']);
  if (typeof infra === 'number') return infra;
  try {
    const due = await retentionDue(erasureDeps(infra), await closedCases(infra)());
    if (due.length === 0) process.stdout.write('retention-report: no personal data is due for erasure\n');
    for (const entry of due) {
      // A person with no subject (filed before encryption) is named by a case of theirs: never by the IIN.
      const named =
        'subjectId' in entry.eraseWith ? `--subject ${entry.eraseWith.subjectId}` : `--case ${entry.eraseWith.caseId}`;
      process.stdout.write(
        `due: subject ${entry.subjectId ?? '(stored in clear, no key)'}: ${entry.cases.map((c) => `${c.caseId} (${c.versionId}, closed ${c.closedAt}, kept until ${c.retainedUntil})`).join('; ')}` +
          ` — npm run cli -- erase ${named} --basis "…" --reference "…"\n`,
      );
    }
    return 0;
  } finally {
    await infra.close();
  }
}
