/**
 * `npm run demo -- [--cases 600] [--seed reglament-demo] [--data-dir ./var/data] [--concurrency 16] [--force]`
 * seeds a realistic history of cases of all six regulation versions into DATA_DIR (the files `npm start`
 * serves), through CaseCommandService like an HTTP command. recordedAt is simulated by the demo's clock
 * (see demo-seeder.ts), not the time of the run.
 */
import { parseArgs } from 'node:util';
import { configForCommand } from '../shared/config/config';
import { openInfrastructure } from '../app/infrastructure';
import { createLogger } from '../shared/logging/logger';
import { consoleProgress } from '../shared/progress';
import { CASE_STREAM_PREFIX } from '../modules/cases/domain/case-event';
import { DEFAULT_DEMO_SEED, seedDemo } from './demo-seeder';
import { formatSummary, summarizeDemo } from './demo-summary';

const HELP = `usage: npm run demo -- [options]   (or: npm run cli -- demo [options])

Seeds demo cases of all six regulation versions (order 184 of 2015, in force 2015-08-11..2016-08-08;
order 58 of 2019, 2019-03-12..2020-12-10): every track, on-time and late acts, appeals, refusals,
portal refusals, non-admissions, references without a defence, cancellations, failed tests, back-dated
acts, and cases left with overdue steps.
Every act goes through CaseCommandService as an HTTP command would: decided, validated, hash-chained
and durably appended to DATA_DIR's event log.

Business times (occurredAt) lie inside each version's period, on working days of the KZ calendar in
office hours (Asia/Almaty). recordedAt is simulated by the demo's clock: minutes after each act, or
days later for a share of acts, which the service then flags as back-dated (BACKDATED_AFTER_MINUTES,
default 24 h). The same --seed gives the same history (case ids and hashes differ from run to run).

options:
  --cases N          cases to seed (default 600)
  --seed TEXT        seed of the pseudo-random choices (default ${DEFAULT_DEMO_SEED})
  --data-dir DIR     where to write (default: DATA_DIR, else ./var/data)
  --concurrency N    cases seeded at the same time (default 16)
  --force            seed even if the data directory already holds cases (adds to them)
  --help             this text
`;

const positive = (name: string, value: string | undefined, fallback: number, max: number): number => {
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > max)
    throw new UsageError(`--${name} must be a whole number 1–${max}, got ${JSON.stringify(value)}`);
  return Number(value);
};

class UsageError extends Error {}

export async function run(argv: string[]): Promise<number> {
  let values: Record<string, string | boolean | undefined>;
  let cases: number;
  let concurrency: number;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        cases: { type: 'string' },
        seed: { type: 'string' },
        'data-dir': { type: 'string' },
        concurrency: { type: 'string' },
        force: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }));
    cases = positive('cases', values.cases as string | undefined, 600, 1_000_000);
    concurrency = positive('concurrency', values.concurrency as string | undefined, 16, 256);
    if (values.seed === '') throw new UsageError('--seed must not be empty');
  } catch (error) {
    process.stderr.write(`demo: ${(error as Error).message}\n\n${HELP}`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const seed = (values.seed as string | undefined) ?? DEFAULT_DEMO_SEED;

  const config = configForCommand(
    values['data-dir'] ? { ...process.env, DATA_DIR: values['data-dir'] as string } : process.env,
    { data: true },
  );
  if (config === 78) return config;
  const infra = await openInfrastructure(config, createLogger(process.env.LOG_LEVEL || 'warn'), {
    projections: 'none',
    writesLog: true,
  });
  try {
    const existing = await infra.eventLog.readAll({ maxCount: 1, filter: { streamPrefixes: [CASE_STREAM_PREFIX] } });
    if (existing.length > 0 && !values.force) {
      process.stderr.write(
        `demo: ${config.dataDir} already holds cases (e.g. stream ${existing[0]!.streamId}); seeding would mix demo data into them.\n` +
          `Use an empty --data-dir, or --force to add ${cases} demo cases to the existing ones.\n`,
      );
      return 1;
    }
    const where = config.eventStore.kind === 'sqlite' ? config.dataDir : config.eventStore.url;
    process.stderr.write(
      `seeding ${cases} demo cases (seed ${JSON.stringify(seed)}, ${concurrency} at a time) into ${where}\n`,
    );
    const progress = consoleProgress('demo cases', cases);
    const started = process.hrtime.bigint();
    const result = await seedDemo(
      {
        eventLog: infra.eventLog,
        catalog: infra.reference.catalog,
        calendar: infra.reference.calendar,
        backDatedAfterMs: config.backDatedAfterMinutes * 60_000,
        personalData: infra.personalData,
      },
      { cases, seed, concurrency, onCaseDone: () => progress.tick() },
    );
    progress.done();
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const summary = await summarizeDemo(infra.eventLog, infra.reference.catalog, infra.reference.calendar, {
      after: result.headBefore,
      asOf: new Date(),
    });

    const out: string[] = [
      `seeded ${summary.cases} cases, ${summary.events} events in ${seconds.toFixed(1)} s (${Math.round(summary.events / seconds)} events/s) into ${where}`,
      formatSummary(summary),
      `recordedAt is simulated by the demo's clock (minutes after each act, days later for back-dated acts); SLA statuses are as of now.`,
    ];
    if (result.refusals.length > 0) {
      out.push(
        `\n${result.refusals.length} command(s) were REFUSED by the command side; those cases stop at the refused act:`,
      );
      for (const r of result.refusals.slice(0, 20))
        out.push(
          `  case #${r.index} ${r.versionId} ${r.trackId} step ${r.stepId} by ${r.actor} at ${r.occurredAt}: ${JSON.stringify(r.refusal)}`,
        );
    }
    const dataDirArg = config.eventStore.kind === 'sqlite' ? ` --data-dir ${config.dataDir}` : '';
    out.push(
      '',
      'next:',
      `  DATA_DIR=${config.dataDir} npm start            # serves these cases; projections build the read models on start`,
      `  TOKEN=$(npm run --silent cli -- mint-token${dataDirArg} --sub auditor-1 --name "Аудитор" --roles auditor --unit astana)`,
      `  curl -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:3000/api/cases?limit=5"`,
      '',
    );
    process.stdout.write(out.join('\n'));
    return result.refusals.length > 0 ? 1 : 0;
  } finally {
    await infra.close();
  }
}
