/** One HTTP request of a test, its answer parsed as JSON where it is JSON (problem+json included), else kept as text. */
export interface HttpAnswer<T = any> {
  status: number;
  headers: Headers;
  body: T;
}

export async function httpCall(
  url: string,
  method: string,
  headers: Record<string, string>,
  body?: string,
): Promise<HttpAnswer> {
  const response = await fetch(url, { method, headers, ...(body !== undefined ? { body } : {}) });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    /* not JSON: keep the text */
  }
  return { status: response.status, headers: response.headers, body: parsed as any };
}
