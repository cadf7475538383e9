import { readFileSync } from 'node:fs';

/**
 * The CPU time (user + system, seconds) the calling thread has used, on Linux (from /proc/thread-self/stat, in clock
 * ticks of 10 ms); null elsewhere. `process.cpuUsage()` counts every thread of the process: work spread over threads is
 * told apart by this, and the busiest thread's time is what bounds the wall time on an idle machine.
 */
export function threadCpuSeconds(): number | null {
  try {
    const stat = readFileSync('/proc/thread-self/stat', 'utf8');
    // The fields after the command name (which may hold spaces), from the state (field 3): utime is 14, stime 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return null;
  }
}
