/**
 * IIN masking for what leaves the process in clear text: log lines, the auditors' access log, case views for callers
 * who may not see a whole IIN. Here, below identity's domain, so the logger in shared/ can use it.
 */

/** Shows the first 4 and last 2 digits, as the logs do: 880101300123 → 8801******23. */
export function maskIin(iin: string): string {
  return iin.length === 12 ? `${iin.slice(0, 4)}******${iin.slice(10)}` : '************';
}

/**
 * IINs are personal data: a run of 11 or more digits in a log line is masked to its first 4 and last 2 digits, also
 * when some are percent-encoded (`%38%38…` in a logged URL is the same IIN to whoever reads the log), split by spaces,
 * dashes, dots, commas, slashes or plus signs (`8801 0130 0123`, `8801-0130-0123`, as people write them), or one digit
 * too many: a refused value is still someone's IIN to whoever reads the log. A run that continues a word (letters or
 * digits joined by a dash, a dot or an underscore: a UUID's groups, `RG-20151005-1234ABCD`) is an id, not an IIN, and
 * stays as it is.
 */
const DIGIT = String.raw`(?:\d|%3\d)`;
/** Joins the parts of one token (a UUID, a receipt number). */
const JOINER = String.raw`(?:[._-]|%2[DdEe]|%5[Ff])`;
/** Separates words, or the groups of a number as people write it. */
const SPACER = String.raw`(?:[ +,/]|%2[0BbCcFf])`;
const SEPARATOR = `(?:${JOINER}|${SPACER})`;
const WORD = '[0-9A-Za-z]';
const IIN_PATTERN = new RegExp(
  String.raw`(?<!${WORD}|%3|${WORD}${JOINER})${DIGIT}(?:${SEPARATOR}{0,3}${DIGIT})*(?!${WORD}|%3\d|${JOINER}${WORD})`,
  'g',
);
const IIN_LIKE_DIGITS = 11;
const maskRun = (run: string) => {
  const digits = run
    .replace(/%(?:2[0BbCcDdEeFf]|5[Ff])/g, '')
    .replace(/%3(\d)/g, '$1')
    .replace(/\D/g, '');
  if (digits.length < IIN_LIKE_DIGITS) return run;
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
