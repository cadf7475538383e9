/**
 * IIN masking for what leaves the process in clear text: log lines, the auditors' access log, case views for callers
 * who may not see a whole IIN. Here, below identity's domain, so the logger in shared/ can use it.
 */

/** Shows the first 4 and last 2 digits, as the logs do: 880101300123 → 8801******23. */
export function maskIin(iin: string): string {
  return iin.length === 12 ? `${iin.slice(0, 4)}******${iin.slice(10)}` : '************';
}

/**
 * IINs are personal data: any run of 11 or more digits in a log line is masked to its first 4 and last 2 digits, also
 * when some of them are percent-encoded (`%38%38…` in a logged URL is the same IIN to whoever reads the log), split by
 * spaces, dashes, dots, plus signs or underscores (`8801 0130 0123`, `8801-0130-0123`, as people write them), or one
 * digit too many: a refused value is still someone's IIN to whoever reads the log. Masking a long number that is no
 * IIN costs nothing; leaving an IIN does.
 */
const DIGIT = String.raw`(?:\d|%3\d)`;
const SEPARATOR = String.raw`(?:[ +._-]|%20|%2[BbDdEe]|%5[Ff])`;
const IIN_PATTERN = new RegExp(String.raw`(?<!\d)${DIGIT}(?:${SEPARATOR}?${DIGIT}){10,}(?!\d|%3\d)`, 'g');
const maskRun = (run: string) => {
  const digits = run
    .replace(/%(?:20|2[BbDdEe]|5[Ff])/g, '')
    .replace(/%3(\d)/g, '$1')
    .replace(/\D/g, '');
  return `${digits.slice(0, 4)}${'*'.repeat(digits.length - 6)}${digits.slice(-2)}`;
};
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
