/**
 * An auditor's request that carries an IIN written so the server still reads it (a parameter name with a
 * percent-escaped letter, full-width or Arabic-Indic digits, a comma or a run of spaces between its halves, an IIN as a
 * path segment) leaves it neither in the process's log lines nor in the auditors' access log that events.db keeps for
 * good: the real server process, its real stdout and its real files.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeIin } from '../support/case-specification';
import { AUDITOR, processFixtures, startProcess, token } from '../support/server-process';
import { openEventLog } from '../../src/modules/event-log/open-event-log';
import { ACCESS_LOG_PREFIX } from '../../src/modules/audit/http/auditor-access-log';
import { withAsciiDigits } from '../../src/shared/iins-in-text';

const fixtures = processFixtures();
const IIN = makeIin('850315', 4, 11);

/** Each digit written in another block of ten (full-width: U+FF10; Arabic-Indic: U+0660), percent-encoded. */
const inScript = (digits: string, zero: number) =>
  encodeURIComponent([...digits].map((d) => String.fromCodePoint(zero + Number(d))).join(''));
const FULL_WIDTH = inScript(IIN, 0xff10);
const ARABIC_INDIC = inScript(IIN, 0x0660);

/** Whether the text holds the IIN as anyone reading it could: escapes decoded, any script's digits, separators dropped. */
function holdsIin(text: string): boolean {
  const decoded = text.replace(/(?:%[0-9A-Fa-f]{2})+/g, (escapes) => {
    try {
      return decodeURIComponent(escapes);
    } catch {
      return escapes;
    }
  });
  return withAsciiDigits(decoded)
    .replace(/[\s,+._\-:/()]/g, '')
    .includes(IIN);
}

it("an IIN however the URL spells it is masked in the log lines and the auditors' access log", async () => {
  const dataDir = fixtures.tempDir('iin-mask');
  const server = await startProcess('main', { DATA_DIR: dataDir });
  fixtures.started.push(server);
  const auditor = await token(AUDITOR);
  const paths = [
    `/api/cases?applicant%49in=${FULL_WIDTH}`,
    `/api/cases?applicant%49in=${IIN.slice(0, 6)}%2C${IIN.slice(6)}`,
    `/api/cases?applicant%49in=${IIN.slice(0, 4)}%20%20%20%20${IIN.slice(4)}`,
    `/api/cases?%61pplicantIin=${FULL_WIDTH}`,
    `/api/cases?limit=5&applicantIin=${IIN.slice(0, 6)},${IIN.slice(6)}`,
    `/api/cases/${FULL_WIDTH}`,
    `/api/cases/${ARABIC_INDIC}/history`,
    `/api/cases?status=open&q=${IIN.slice(0, 6)}%E2%80%8B${IIN.slice(6)}`,
    `/api/cases/${IIN.slice(0, 6)}/${IIN.slice(6)}`,
    `/api/cases/00000000-0000-4000-8000-${IIN}/history`,
  ];
  for (const path of paths) {
    const answer = await server.call('GET', path, { token: auditor });
    expect(answer.status).toBeGreaterThanOrEqual(200);
  }
  expect(await server.stop()).toBe(0);

  // The process's own log: a request line and an access line per request, none holding the IIN.
  const http = server.logs.filter((line) => line.component === 'http');
  const access = server.logs.filter((line) => line.msg === 'auditor access');
  expect(http).toHaveLength(paths.length);
  // A path no route serves is answered before anyone is authenticated: a request line, no access line.
  expect(access).toHaveLength(paths.length - 1);
  expect(server.logs.map((line) => JSON.stringify(line)).filter(holdsIin)).toEqual([]);
  expect(holdsIin(server.stderr())).toBe(false);

  // The access log as the log keeps it: every request recorded, with its route, none holding the IIN.
  const log = await openEventLog({ kind: 'sqlite', dataDir });
  try {
    const records = await log.readAll({ filter: { streamPrefixes: [ACCESS_LOG_PREFIX] } });
    const data = records.map((e) => e.data as { path: string; route: string | null; status: number });
    expect(data).toHaveLength(paths.length - 1);
    expect(data.filter((d) => holdsIin(JSON.stringify(d)))).toEqual([]);
    expect(data.map((d) => d.route)).toEqual([
      '/api/cases',
      '/api/cases',
      '/api/cases',
      '/api/cases',
      '/api/cases',
      '/api/cases/:caseId',
      '/api/cases/:caseId/history',
      '/api/cases',
      '/api/cases/:caseId/history',
    ]);
    // What the auditor asked for is still there: the parameters' names and what is not an IIN.
    expect(data[4]!.path).toMatch(/^\/api\/cases\?limit=5&applicantIin=/);
    expect(data[7]!.path).toMatch(/^\/api\/cases\?status=open&q=/);
    // Masked once and logged: the masked value is kept as it is, not masked again to asterisks alone.
    expect(data[0]!.path).toBe(`/api/cases?applicant%49in=${IIN.slice(0, 4)}******${IIN.slice(10)}`);
    expect(access[0]!.path).toBe(data[0]!.path);
  } finally {
    await log.close();
  }
  // And the files themselves, as `grep -a` reads them.
  for (const file of readdirSync(dataDir).filter((f) => f.startsWith('events.db')))
    expect([file, holdsIin(readFileSync(join(dataDir, file)).toString('latin1'))]).toEqual([file, false]);
}, 120_000);

/** holdsIin, read harder: escapes decoded until they stop changing (`%2538`, `%u0038` too), everything but letters and digits dropped. */
function holdsIinReadHard(text: string): boolean {
  let read = text;
  for (let round = 0; round < 4; round++)
    read = read
      .replace(/%u([0-9a-f]{4})/gi, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)))
      .replace(/%([0-9a-f]{2})/gi, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
  return withAsciiDigits(read)
    .replace(/[^\p{L}0-9]/gu, '')
    .includes(IIN);
}

it("an IIN joined by a slash, runs of tabs or line breaks, encoded twice or as %u, or among more digits is kept out of the log lines and the auditors' access log (review finding)", async () => {
  const dataDir = fixtures.tempDir('iin-mask-2');
  const server = await startProcess('main', { DATA_DIR: dataDir });
  fixtures.started.push(server);
  const auditor = await token(AUDITOR);
  const twice = [...IIN].map((d) => `%253${d}`).join('');
  const asU = [...IIN].map((d) => `%u003${d}`).join('');
  const paths = [
    `/api/cases?assignee=${IIN.slice(0, 5)}/${IIN.slice(5)}`,
    `/api/cases?assignee=${IIN.slice(0, 6)}%09%09%09%09${IIN.slice(6)}`,
    `/api/cases?assignee=${IIN.slice(0, 6)}%0D%0A%0D%0A${IIN.slice(6)}`,
    `/api/cases?assignee=${twice}`,
    `/api/cases?assignee=${asU}`,
    `/api/cases?cursor=00${IIN}`,
    `/api/cases/00${IIN}`,
    `/api/cases/${IIN}0000`,
  ];
  for (const path of paths) {
    const answer = await server.call('GET', path, { token: auditor });
    expect(answer.status).toBeGreaterThanOrEqual(200);
  }
  expect(await server.stop()).toBe(0);
  expect(server.logs.map((line) => JSON.stringify(line)).filter(holdsIinReadHard)).toEqual([]);
  const log = await openEventLog({ kind: 'sqlite', dataDir });
  try {
    const records = await log.readAll({ filter: { streamPrefixes: [ACCESS_LOG_PREFIX] } });
    expect(records.length).toBeGreaterThanOrEqual(paths.length - 2);
    expect(records.map((e) => JSON.stringify(e)).filter(holdsIinReadHard)).toEqual([]);
  } finally {
    await log.close();
  }
  for (const file of readdirSync(dataDir).filter((f) => f.startsWith('events.db')))
    expect([file, holdsIinReadHard(readFileSync(join(dataDir, file)).toString('latin1'))]).toEqual([file, false]);
}, 120_000);
