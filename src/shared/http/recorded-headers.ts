/**
 * A response's first headers written with its others in one `writeHead`, for the API's busiest answer: the security
 * hook's dozen headers (the same names, values and order) recorded when it runs instead of set one by one on the
 * response. Each `setHeader` validates, lower-cases and stores its header, and `writeHead` then reads the store
 * again; in one `writeHead` Node validates each header once as it writes it. The bytes on the wire are the same.
 */
import { ServerResponse } from 'node:http';

type HeaderValue = string | number | readonly string[];

/** The headers a hook set on a response, in order, as `[name, value, lower-case name]`. */
export class RecordedHeaders {
  readonly pairs: [string, HeaderValue, string][] = [];

  /** @param response the response the headers are for: a removal is made on it too, as on the recorded ones. */
  constructor(private readonly response: ServerResponse) {}

  setHeader(name: string, value: HeaderValue): this {
    const lower = name.toLowerCase();
    const at = this.pairs.findIndex((pair) => pair[2] === lower);
    // As a response's own header store: setting a name again replaces it where it stands.
    if (at >= 0) this.pairs[at] = [name, value, lower];
    else this.pairs.push([name, value, lower]);
    return this;
  }

  removeHeader(name: string): void {
    const lower = name.toLowerCase();
    const at = this.pairs.findIndex((pair) => pair[2] === lower);
    if (at >= 0) this.pairs.splice(at, 1);
    this.response.removeHeader(name);
  }
}

const RECORDED = Symbol('headers recorded for the answer');
type Answering = ServerResponse & { [RECORDED]?: RecordedHeaders };
const writeHead = ServerResponse.prototype.writeHead as (
  this: ServerResponse,
  statusCode: number,
  reason?: unknown,
  headers?: unknown,
) => ServerResponse;

/**
 * From now on `response` writes `recorded` ahead of its other headers, as if they had been set on it first: a name
 * set again later (on the response or in `writeHead`'s headers) replaces the recorded one where it stands.
 */
export function writeRecordedFirst(response: ServerResponse, recorded: RecordedHeaders): void {
  (response as Answering)[RECORDED] = recorded;
  response.writeHead = writeHeadRecordedFirst as ServerResponse['writeHead'];
}

function writeHeadRecordedFirst(this: Answering, statusCode: number, reason?: unknown, headers?: unknown) {
  const recorded = this[RECORDED]!;
  const given = typeof reason === 'string' ? headers : reason;
  if (typeof reason === 'string' || Array.isArray(given) || this.getHeaderNames().length > 0) {
    // Anything but fastify's plain answer: the recorded headers are set first on the response, and what was set on it
    // since set again after them, so Node's own rules order and replace them as they would have.
    const raw = (this as unknown as { getRawHeaderNames(): string[] }).getRawHeaderNames();
    const later = raw.map((name) => [name, this.getHeader(name)!] as const);
    for (const [name] of later) this.removeHeader(name);
    for (const [name, value] of recorded.pairs) this.setHeader(name, value);
    for (const [name, value] of later) this.setHeader(name, value);
    return writeHead.call(this, statusCode, reason, headers);
  }
  const flat: HeaderValue[] = [];
  const names: string[] = [];
  for (const [name, value, lower] of recorded.pairs) {
    flat.push(name, value);
    names.push(lower);
  }
  if (given)
    for (const name of Object.keys(given)) {
      // As writeHead sets each of its headers on a response that has some (an unnamed one skipped, a name given
      // again replacing the header where it stands; an undefined value refused by Node as it is written).
      if (!name) continue;
      const value = (given as Record<string, HeaderValue>)[name]!;
      const at = names.indexOf(name.toLowerCase());
      if (at >= 0) {
        flat[2 * at] = name;
        flat[2 * at + 1] = value;
      } else {
        flat.push(name, value);
        names.push(name.toLowerCase());
      }
    }
  return writeHead.call(this, statusCode, flat);
}
