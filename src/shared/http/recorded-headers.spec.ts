import { IncomingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import { RecordedHeaders, writeRecordedFirst } from './recorded-headers';

function response(): ServerResponse {
  const request = new IncomingMessage(new Socket());
  request.httpVersionMajor = 1;
  request.httpVersionMinor = 1;
  const answer = new ServerResponse(request);
  answer.sendDate = false;
  return answer;
}

/** What a hook writes: two headers, one of them set twice, one removed. */
function hook(target: { setHeader(name: string, value: string): unknown; removeHeader(name: string): unknown }) {
  target.setHeader('X-Powered-By', 'nothing');
  target.setHeader('Content-Security-Policy', "default-src 'none'");
  target.setHeader('X-Frame-Options', 'SAMEORIGIN');
  target.setHeader('X-Frame-Options', 'DENY');
  target.removeHeader('X-Powered-By');
}

/** The header block written when the hook sets its headers on the response, and when they are recorded. */
function both(write: (answer: ServerResponse) => void): [string, string] {
  const direct = response();
  hook(direct);
  write(direct);
  const recordedOn = response();
  const recorded = new RecordedHeaders(recordedOn);
  hook(recorded);
  writeRecordedFirst(recordedOn, recorded);
  write(recordedOn);
  const header = (answer: ServerResponse) => (answer as unknown as { _header: string })._header;
  return [header(recordedOn), header(direct)];
}

describe('headers recorded for an answer', () => {
  it('are written first, with the same bytes as set on the response, for headers given to writeHead', () => {
    const [recorded, direct] = both((answer) =>
      answer.writeHead(200, { 'content-type': 'application/json', etag: '"3"', 'x-frame-options': 'ALLOW' }),
    );
    expect(recorded).toBe(direct);
    expect(recorded).toContain("Content-Security-Policy: default-src 'none'\r\nx-frame-options: ALLOW\r\ncontent-type");
    expect(recorded).not.toContain('X-Powered-By');
  });

  it('give the same bytes with headers set on the response after them, as an array, or none', () => {
    for (const write of [
      (answer: ServerResponse) => {
        answer.setHeader('Retry-After', '1');
        answer.setHeader('content-security-policy', 'sandbox');
        answer.writeHead(503, { 'content-type': 'text/plain' });
      },
      (answer: ServerResponse) => answer.writeHead(200, ['ETag', '"1"', 'x-frame-options', 'DENY']),
      (answer: ServerResponse) => answer.writeHead(404, 'Gone Fishing', { 'content-length': '0' }),
      (answer: ServerResponse) => answer.writeHead(204),
    ]) {
      const [recorded, direct] = both(write);
      expect(recorded).toBe(direct);
    }
  });

  it('refuse a header value Node refuses, as setting it would', () => {
    const answer = response();
    const recorded = new RecordedHeaders(answer);
    hook(recorded);
    writeRecordedFirst(answer, recorded);
    expect(() => answer.writeHead(200, { etag: 'bad\r\nvalue' })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_CHAR' }),
    );
  });
});
