import 'reflect-metadata';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { constants, tmpdir, cpus } from 'node:os';
import { join } from 'node:path';
import { BenchContext, BenchResult, BenchSuite, consoleProgress, meets, renderTable } from './bench-kit';
import { suites } from './suites';
import { API_PROCESS_V8_FLAGS } from '../app/api-process-flags';

/** This bench again, in a process with the API's V8 flags: its exit code (128 + n for a signal), signals passed on. */
function runAgainWithApiFlags(): Promise<number> {
  const child = spawn(process.execPath, [...API_PROCESS_V8_FLAGS, ...process.execArgv, ...process.argv.slice(1)], {
    stdio: 'inherit',
  });
  const forward = (signal: NodeJS.Signals) => child.kill(signal);
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  for (const signal of signals) process.on(signal, forward);
  return new Promise((resolve) => {
    child.once('error', (error) => {
      process.stderr.write(
        `bench: could not start ${process.execPath} with ${API_PROCESS_V8_FLAGS.join(' ')}: ${error.message}\n`,
      );
      resolve(1);
    });
    child.once('exit', (code, signal) => {
      for (const s of signals) process.off(s, forward);
      resolve(code ?? 128 + (signal ? (constants.signals[signal] ?? 0) : 0));
    });
  });
}

/**
 * `npm run bench [-- <suite name fragment>…]`. Every figure is printed beside a baseline measured in
 * the same run, so the ratio holds whatever the machine. BENCH_EVENTS scales the large log (default 1,000,000).
 */
async function main(argv: string[]): Promise<number> {
  // The suites run the API in this process: it runs with the API's V8 flags, however the bench was started.
  if (!API_PROCESS_V8_FLAGS.every((flag) => process.execArgv.includes(flag))) return runAgainWithApiFlags();
  const selected: BenchSuite[] = argv.length ? suites.filter((s) => argv.some((a) => s.name.includes(a))) : suites;
  if (selected.length === 0) {
    process.stderr.write(`no suite matches ${argv.join(' ')}; suites: ${suites.map((s) => s.name).join(', ')}\n`);
    return 2;
  }
  const workDir = mkdtempSync(join(process.env.BENCH_DIR ?? tmpdir(), 'reglament-bench-'));
  const ctx: BenchContext = {
    events: Number(process.env.BENCH_EVENTS ?? 1_000_000),
    samples: Number(process.env.BENCH_SAMPLES ?? 10_000),
    workDir,
    progress: consoleProgress,
  };
  const all: BenchResult[] = [];
  try {
    for (const suite of selected) {
      process.stderr.write(`\n== ${suite.name}\n`);
      const suiteDir = join(workDir, suite.name.replace(/\W+/g, '-'));
      mkdirSync(suiteDir, { recursive: true });
      const results = await suite.run({ ...ctx, workDir: suiteDir });
      all.push(...results);
      process.stdout.write(`\n${renderTable(results)}\n`);
    }
  } finally {
    rmSync(workDir, { recursive: true, force: true });
  }
  const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, node ${process.version}`;
  const report = {
    at: new Date().toISOString(),
    machine,
    events: ctx.events,
    samples: ctx.samples,
    results: all.map((r) => ({ ...r, met: meets(r) })),
  };
  mkdirSync('bench-results', { recursive: true });
  writeFileSync(join('bench-results', 'latest.json'), JSON.stringify(report, null, 2));
  process.stdout.write(
    `\nAll figures (${machine}; log of ${ctx.events.toLocaleString('en-US')} events):\n\n${renderTable(all)}\n\nwritten to bench-results/latest.json\n`,
  );
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
