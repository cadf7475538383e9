/**
 * Why a `fetch` got no answer, in a few words: fetch's own failures are TypeErrors whose cause is the socket's error
 * (ECONNREFUSED, ENOTFOUND…), and its time-out (AbortSignal.timeout) is a DOMException named TimeoutError.
 */
export function fetchFailureReason(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string; name?: string } } | null)?.cause;
  const name = (error as { name?: string } | null)?.name ?? cause?.name;
  if (name === 'TimeoutError' || name === 'AbortError' || cause?.name === 'TimeoutError') return 'no answer in time';
  return cause?.code ?? cause?.message ?? (error instanceof Error ? error.message : String(error));
}
