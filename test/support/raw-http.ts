/**
 * One HTTP request with the path sent exactly as given (fetch and URL would normalise `..`, `//` and some
 * escapes away, and those are what an attacker sends). The body is read up to a cap, so an event stream
 * that never ends answers too.
 */
import { request } from 'node:http';

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export function rawRequest(
  baseUrl: string,
  method: string,
  path: string,
  options: { headers?: Record<string, string>; body?: string | Buffer; maxBodyBytes?: number } = {},
): Promise<RawResponse> {
  const { hostname, port } = new URL(baseUrl);
  const cap = options.maxBodyBytes ?? 64 * 1024;
  return new Promise((resolve, reject) => {
    const req = request(
      {
        hostname,
        port,
        method,
        path,
        headers: { ...(options.body !== undefined ? { 'content-type': 'application/json' } : {}), ...options.headers },
      },
      (res) => {
        let body = '';
        let done = false;
        const finish = () => {
          if (done) return;
          done = true;
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body });
        };
        // An event stream never ends: its status and headers are the answer.
        if (String(res.headers['content-type']).startsWith('text/event-stream')) {
          finish();
          req.destroy();
          return;
        }
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          body += chunk;
          if (body.length >= cap) {
            finish();
            req.destroy();
          }
        });
        res.on('end', finish);
        res.on('close', finish);
        res.on('error', (error) => (done ? undefined : reject(error)));
      },
    );
    req.on('error', reject);
    if (options.body !== undefined) req.write(options.body);
    req.end();
  });
}
