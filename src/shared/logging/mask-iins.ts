/**
 * IIN masking for what leaves the process in clear text: log lines, the auditors' access log, case views for callers
 * who may not see a whole IIN. Here, below identity's domain, so the logger in shared/ can use it.
 */

/** Shows the first 4 and last 2 digits, as the logs do: 880101300123 → 8801******23. */
export function maskIin(iin: string): string {
  return iin.length === 12 ? `${iin.slice(0, 4)}******${iin.slice(10)}` : '************';
}

/**
 * IINs are personal data: any run of 12 digits in a log line is masked to its first 4 and last 2 digits, also when
 * some of them are percent-encoded (`%38%38…` in a logged URL is the same IIN to whoever reads the log).
 */
const IIN_PATTERN = /(?<!\d)(?:\d|%3\d){12}(?!\d|%3\d)/g;
const maskRun = (run: string) => maskIin(run.replace(/%3(\d)/g, '$1'));
export function maskIinsDeep(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return value.replace(IIN_PATTERN, maskRun);
  if (depth > 6 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => maskIinsDeep(v, depth + 1));
  if (value instanceof Error)
    return { name: value.name, message: maskIinsDeep(value.message, depth + 1), stack: value.stack };
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = maskIinsDeep(v, depth + 1);
  return out;
}
