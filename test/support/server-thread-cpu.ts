/**
 * The main thread's CPU time, for the case-view measures that run the server on it and the load in a worker thread
 * (warm-view-cpu.ts, cold-view-cpu.ts): not tests, tools for BENCHMARKS.md.
 */
import { readFileSync } from 'node:fs';

/** /proc counts CPU time in USER_HZ ticks, 100 a second on Linux. */
const TICK_MS = 10;

export interface ThreadCpu {
  user: number;
  sys: number;
}

/** The main thread's user and kernel CPU time so far, in ms. */
export function mainThreadCpu(): ThreadCpu {
  const f = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return { user: Number(f[11]) * TICK_MS, sys: Number(f[12]) * TICK_MS };
}

/** One line of JSON: the answers autocannon counted and the thread's CPU per answer between `before` and `after`. */
export function printCpuPerAnswer(
  label: string | undefined,
  out: { n: number; non2xx: number; p99: number },
  before: ThreadCpu,
  after: ThreadCpu,
): void {
  const user = after.user - before.user;
  const sys = after.sys - before.sys;
  console.log(
    JSON.stringify({
      label,
      answers: out.n,
      non2xx: out.non2xx,
      p99: out.p99,
      usPerAnswer: +(((user + sys) * 1000) / out.n).toFixed(1),
      userUs: +((user * 1000) / out.n).toFixed(1),
      sysUs: +((sys * 1000) / out.n).toFixed(1),
    }),
  );
}
