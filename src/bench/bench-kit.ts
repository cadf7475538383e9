import type { Progress } from '../shared/progress';
export { consoleProgress, type Progress } from '../shared/progress';

/** One benchmark figure, printed beside the baseline measured in the same run. */
export interface BenchResult {
  name: string;
  value: number;
  unit: string;
  /** higher-is-better figures (throughput) vs lower-is-better (latency) decide how the ratio reads. */
  better: 'higher' | 'lower';
  baseline?: { name: string; value: number };
  /** A target from the issue, e.g. "≤ 1 ms"; `met` is computed against it. */
  target?: { op: '<=' | '>='; value: number; text: string };
  detail?: string;
}

export interface BenchSuite {
  name: string;
  run(ctx: BenchContext): Promise<BenchResult[]>;
}

export interface BenchContext {
  /** Events in the large log (1,000,000 by default; BENCH_EVENTS overrides, e.g. for a smoke run). */
  events: number;
  /** Iterations for latency samples. */
  samples: number;
  workDir: string;
  progress(label: string, total: number): Progress;
}

export function percentile(sortedAscending: number[], p: number): number {
  if (sortedAscending.length === 0) return NaN;
  const index = Math.min(sortedAscending.length - 1, Math.ceil((p / 100) * sortedAscending.length) - 1);
  return sortedAscending[Math.max(0, index)];
}

export function ratioText(result: BenchResult): string {
  if (!result.baseline || result.baseline.value === 0) return '';
  const ratio = result.value / result.baseline.value;
  return `${ratio.toFixed(2)}× ${result.baseline.name}`;
}

export function meets(result: BenchResult): boolean | undefined {
  if (!result.target) return undefined;
  return result.target.op === '<=' ? result.value <= result.target.value : result.value >= result.target.value;
}

const fmt = (n: number) => (Math.abs(n) >= 100 ? Math.round(n).toLocaleString('en-US') : n.toPrecision(3));

export function renderTable(results: BenchResult[]): string {
  const rows = results.map((r) => {
    const met = meets(r);
    return `| ${r.name} | ${fmt(r.value)} ${r.unit} | ${r.baseline ? `${r.baseline.name}: ${fmt(r.baseline.value)} ${r.unit}` : '—'} | ${ratioText(r) || '—'} | ${r.target ? `${r.target.text} ${met ? '✓' : '✗'}` : '—'} |`;
  });
  return ['| figure | value | baseline (same run) | ratio | target |', '|---|---|---|---|---|', ...rows].join('\n');
}
