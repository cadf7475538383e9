/** The case list's page size and its cursor, opaque to clients: base64url of the last row's sort key. */
export const DEFAULT_LIMIT = 50;
export const MAX_LIMIT = 500;

const CASE_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/** The newest-first sort key of the last row served. */
export interface CaseCursor {
  submittedAt: string;
  caseId: string;
}

export function encodeCursor(cursor: CaseCursor): string {
  return Buffer.from(JSON.stringify([cursor.submittedAt, cursor.caseId])).toString('base64url');
}

export function decodeCursor(value: string): CaseCursor | null {
  if (value.length > 200 || !/^[A-Za-z0-9_-]+$/.test(value)) return null;
  try {
    const parsed: unknown = JSON.parse(Buffer.from(value, 'base64url').toString('utf8'));
    if (!Array.isArray(parsed) || parsed.length !== 2) return null;
    const [submittedAt, caseId] = parsed as unknown[];
    if (typeof submittedAt !== 'string' || !ISO_UTC.test(submittedAt) || Number.isNaN(Date.parse(submittedAt)))
      return null;
    if (typeof caseId !== 'string' || !CASE_ID.test(caseId)) return null;
    return { submittedAt, caseId };
  } catch {
    return null;
  }
}
