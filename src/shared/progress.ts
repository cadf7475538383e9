import { SingleBar, Presets } from 'cli-progress';

/** Progress of long work (rebuilds, imports, benchmarks) on stderr: a bar with ETA on a terminal, 10 % lines otherwise. */
export interface Progress {
  tick(n?: number): void;
  /** Sets the absolute value; a new total when the target moved (the log grew during a rebuild). */
  update(value: number, total?: number): void;
  done(): void;
}

export function consoleProgress(label: string, total: number): Progress {
  if (!process.stderr.isTTY || process.env.CI) {
    // Non-interactive: a line at each 10 %, so CI logs show progress without a flood.
    let done = 0;
    let nextMark = 0.1;
    const started = Date.now();
    return {
      tick(n = 1) {
        this.update(done + n);
      },
      update(value: number, newTotal?: number) {
        done = value;
        if (newTotal !== undefined) total = newTotal;
        if (total > 0 && done / total >= nextMark) {
          const elapsed = (Date.now() - started) / 1000;
          const eta = done > 0 ? (elapsed * (total - done)) / done : 0;
          process.stderr.write(
            `${label}: ${Math.round((100 * done) / total)}% (${done}/${total}) eta ${eta.toFixed(1)}s\n`,
          );
          nextMark = Math.floor((done / total) * 10) / 10 + 0.1;
        }
      },
      done() {},
    };
  }
  const bar = new SingleBar(
    { format: `${label.padEnd(34)} {bar} {percentage}% | {value}/{total} | eta {eta_formatted}`, hideCursor: true },
    Presets.shades_classic,
  );
  bar.start(total, 0);
  return {
    tick: (n = 1) => bar.increment(n),
    update: (value, newTotal) => {
      if (newTotal !== undefined) bar.setTotal(newTotal);
      bar.update(value);
    },
    done: () => bar.stop(),
  };
}
