/**
 * Reads a YAML (or JSON) data file and checks it against a zod schema. Any problem becomes a
 * DataFileError naming the file, the path inside it and what is wrong, so a bad file stops
 * start-up with a message an analyst can act on.
 */
import { readFileSync } from 'node:fs';
import { parseDocument } from 'yaml';
import type { z } from 'zod';

export interface DataFileProblem {
  /** Path inside the file, e.g. "steps[2].limits[0].spec.days"; "" for the whole file. */
  path: string;
  problem: string;
}

export class DataFileError extends Error {
  constructor(
    readonly file: string,
    readonly problems: DataFileProblem[],
  ) {
    super(`${file}: ${problems.map((p) => (p.path ? `${p.path}: ${p.problem}` : p.problem)).join('; ')}`);
    this.name = 'DataFileError';
  }
}

export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out ? `.${String(key)}` : String(key);
  }
  return out;
}

export function zodProblems(error: z.ZodError): DataFileProblem[] {
  return error.issues.map((issue) => ({ path: formatPath(issue.path), problem: problemOf(issue) }));
}

/** A bad record key is reported with what its key schema says, not zod's generic "Invalid key in record". */
function problemOf(issue: z.core.$ZodIssue): string {
  if (issue.code === 'invalid_key')
    return `is not an allowed key: ${issue.issues.map((inner) => inner.message).join('; ')}`;
  return issue.message;
}

export function loadDataFile<S extends z.ZodType>(file: string, schema: S): z.infer<S> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new DataFileError(file, [
      { path: '', problem: `cannot be read: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}` },
    ]);
  }
  const document = parseDocument(text, { prettyErrors: false, uniqueKeys: true });
  if (document.errors.length > 0) {
    throw new DataFileError(
      file,
      document.errors.map((e) => ({
        path: '',
        problem: `is not valid YAML at line ${e.linePos?.[0]?.line ?? '?'}: ${e.message.split('\n')[0]}`,
      })),
    );
  }
  const result = schema.safeParse(document.toJS());
  if (!result.success) throw new DataFileError(file, zodProblems(result.error));
  return result.data;
}
