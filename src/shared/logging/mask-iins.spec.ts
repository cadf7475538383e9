import { randomUUID } from 'node:crypto';
import { maskIinsDeep, maskUrl } from './mask-iins';

/** 880101300123 is an IIN's shape (born 1988-01-01, century digit 3, check digit 3): checked below. */
const IIN = '880101300123';
/** The IIN in another script's digits (full-width: U+FF10, Arabic-Indic: U+0660), as written and percent-encoded. */
const inScript = (zero: number) => [...IIN].map((d) => String.fromCodePoint(zero + Number(d))).join('');
const FULL_WIDTH = inScript(0xff10);
const ARABIC_INDIC = inScript(0x0660);
const ENCODED = encodeURIComponent(FULL_WIDTH);

describe('IINs masked in what is logged', () => {
  it.each([
    [IIN, '8801******23'],
    ['%38%38%30101300123', '8801******23'],
    ['8801 0130 0123', '8801******23'],
    ['8801-0130-0123', '8801******23'],
    ['8801 - 0130 - 0123', '8801******23'],
    ['8801%200130%200123', '8801******23'],
    ['8801013001230', '8801*******30'],
    ['/api/cases?applicantIin=880101300123&limit=5', '/api/cases?applicantIin=8801******23&limit=5'],
    // An auditor's lookup refused for its spelling is logged and kept in the access log for good: the IIN as typed was.
    ['/api/cases?applicantIin=(880101)300123', '/api/cases?applicantIin=8801******23'],
    ['/api/cases?applicantIin=880101%2F300123&limit=5', '/api/cases?applicantIin=8801******23&limit=5'],
    ['/api/cases?applicantIin=880101%3A300123', '/api/cases?applicantIin=8801******23'],
    ['/api/cases?applicantIin=8801%20%20%20%200130%200123', '/api/cases?applicantIin=8801******23'],
    [
      '/api/cases?applicantIin=%EF%BC%98%EF%BC%98%EF%BC%90%EF%BC%91%EF%BC%90%EF%BC%91%EF%BC%93%EF%BC%90%EF%BC%90%EF%BC%91%EF%BC%92%EF%BC%93',
      '/api/cases?applicantIin=8801******23',
    ],
    ['/api/cases?applicantIin=8%E2%80%8B8%E2%80%8B0101300123', '/api/cases?applicantIin=8801******23'],
    ['/api/cases?limit=5&applicantIin=%ZZ880101300123', '/api/cases?limit=5&applicantIin=8801******23'],
    ['q%3D880101300123', 'q%3D8801******23'],
    ['/a%2F880101300123', '/a%2F8801******23'],
    ['IIN 880101300123 refused', 'IIN 8801******23 refused'],
    ['880101300123,900101300456', '8801******23,9001******56'],
    ['880101300123 900101300456', '8801******23 9001******56'],
    // Joined to a word, masked only with an IIN's birth date and check digit.
    ['iin-880101300123', 'iin-8801******23'],
    ['scan_880101300123.pdf', 'scan_8801******23.pdf'],
    ['iin880101300123', 'iin8801******23'],
    // The parameter's name as the server reads it: escapes decoded (review finding F3).
    [`/api/cases?applicant%49in=${ENCODED}`, '/api/cases?applicant%49in=8801******23'],
    [`/api/cases?%61pplicantIin=${ENCODED}&limit=5`, '/api/cases?%61pplicantIin=8801******23&limit=5'],
    ['/api/cases?applicant%49in=880101%2C300123', '/api/cases?applicant%49in=8801******23'],
    ['/api/cases?x=1&applicant+iin=880101%2C300123', '/api/cases?x=1&applicant+iin=8801******23'],
    // Masked once already (the access log's path, logged): kept, not masked again to asterisks alone.
    ['/api/cases?applicant%49in=8801******23', '/api/cases?applicant%49in=8801******23'],
    // A comma or a run of spaces between the digits, whatever the parameter.
    ['880101,300123', '8801******23'],
    ['/api/x?q=8801%20%20%20%200130%200123', '/api/x?q=8801******23'],
    // Any script's digits, percent-encoded or not, and invisible characters between digits, in a path too.
    [`/api/cases/${ENCODED}`, '/api/cases/8801******23'],
    [`/api/cases/${encodeURIComponent(ARABIC_INDIC)}/history`, '/api/cases/8801******23/history'],
    [`/api/cases/${FULL_WIDTH}`, '/api/cases/8801******23'],
    [`ИИН ${ARABIC_INDIC} отклонён`, 'ИИН 8801******23 отклонён'],
    [`${FULL_WIDTH.slice(0, 6)}\u3000${FULL_WIDTH.slice(6)}`, '8801******23'],
    ['/api/x?q=880101%E2%80%8B300123', '/api/x?q=8801******23'],
    [`88${FULL_WIDTH.slice(2)}`, '8801******23'],
  ])('%s is logged as %s', (value, masked) => {
    expect(maskIinsDeep(value)).toBe(masked);
  });

  // Ids whose digit groups are joined to letters are not IINs: masking them lost which case an auditor read.
  it.each([
    '/api/cases/019a3f1c-4b2e-7000-8000-123456789012/steps/x',
    'RG-20151005-1234ABCD',
    'RG-20151005-12345678',
    '2015-10-05T10:00:00+06:00',
    '2024-01-01, 2024-02-01',
    '/api/cases?after=123456&limit=20',
    'x 12345678901234567890 y',
    // A UUID whose every character is a digit (found once in 500,000 random ones).
    '01043139-7879-4373-8525-353803083968',
    '/api/cases?q=%D0%BF%D1%80%D0%B8%D0%B2%D0%B5%D1%82&limit=%EF%BC%91%EF%BC%92',
    'Заявление № ５ принято',
    '/api/cases?status=open',
  ])('%s is left as it is', (value) => {
    expect(maskIinsDeep(value)).toBe(value);
  });

  it('leaves a random UUID as it is (100,000 of them)', () => {
    const changed = Array.from({ length: 100_000 }, () => randomUUID()).filter((id) => maskIinsDeep(id) !== id);
    expect(changed).toEqual([]);
  });

  // A pattern that backtracked took 23 s over 300 KB of `%31` before a letter, in every request's log line.
  it.each([
    ['%31', 'a'],
    ['1-', 'a'],
    ['1 ', 'x'],
    ['%3', '1'],
    ['%EF%BC%91', 'a'],
    ['\uff11', 'a'],
    ['1\u200b', 'x'],
  ])('masks 300 KB of %p… then %p in linear time (crafted URLs)', (unit, end) => {
    const crafted = `${unit.repeat(100_000)}${end}`;
    const small = `${unit.repeat(1_000)}${end}`;
    const time = (text: string) => {
      const started = process.hrtime.bigint();
      maskIinsDeep(text);
      return Number(process.hrtime.bigint() - started);
    };
    time(small);
    // 100 times the text, not 10,000 times the time: within 1,000 times (linear, with room for a slow machine).
    expect(time(crafted) / Math.max(time(small), 1)).toBeLessThan(1_000);
  });
});

describe('URLs as the log lines and the access log keep them', () => {
  it.each([
    // Groups joined by a slash or brackets: found by reading the URL once more; every part with a digit is starred.
    ['/api/cases/880101/300123', '/api/cases/*/*'],
    ['/api/x/(880101)300123?limit=5', '/api/x/*?limit=*'],
    // A case's id stays, unless it carries an IIN.
    [
      '/api/cases/019a3f1c-4b2e-7000-8000-123456789012/history?at=880101:300123',
      '/api/cases/019a3f1c-4b2e-7000-8000-123456789012/history?at=*',
    ],
    ['/api/cases/00000000-0000-4000-8000-880101300123/x:880101/300123', '/api/cases/*/*/*'],
  ])('%s is kept as %s', (url, kept) => {
    expect(maskUrl(url)).toBe(kept);
  });

  // Spellings a review sent through the real server after the masking above: each reached the log lines and the access
  // log in clear. Eleven digits or more joined by anything but letters now scrub the URL.
  const pct = (text: string) => [...text].map((c) => `%${c.charCodeAt(0).toString(16)}`).join('');
  it.each([
    ['/api/cases?assignee=85031/5400114', '/api/cases?assignee=*'],
    ['/api/cases?assignee=850315%09%09%09%09400114', '/api/cases?assignee=*'],
    ['/api/cases?assignee=850315%0D%0A%0D%0A400114', '/api/cases?assignee=*'],
    [`/api/cases?assignee=${encodeURIComponent(pct('850315400114'))}`, '/api/cases?assignee=*'],
    [`/api/cases?q=${[...'850315400114'].map((d) => `%u003${d}`).join('')}`, '/api/cases?q=*'],
    ['/api/cases?cursor=00850315400114', '/api/cases?cursor=*'],
    ['/api/cases/00850315400114', '/api/cases/*'],
    ['/api/cases/8503154001140000', '/api/cases/*'],
    ['/api/cases?q=iin-85031-5400114', '/api/cases?q=*'],
    ['/api/cases?q=8503%201540/0114', '/api/cases?q=*'],
  ])('%s is scrubbed as %s', (url, kept) => {
    expect(maskUrl(url)).toBe(kept);
  });

  it("is how a log line's url and path fields are masked", () => {
    expect(
      maskIinsDeep({ url: '/api/cases/880101/300123', path: '/x?a=(880101)300123', msg: 'a 880101/300123' }),
    ).toEqual({
      url: '/api/cases/*/*',
      path: '/x?a=*',
      msg: 'a 880101/300123',
    });
  });

  it.each([
    '/api/cases/019a3f1c-4b2e-7000-8000-123456789012',
    '/api/cases?limit=20&after=12345',
    '/health',
    '/api/compliance/summary?from=2024-01-01&to=2024-12-31&unit=astana',
    '/api/cases/019a3f1c-4b2e-7000-8000-123456789012/state?at=2026-12-06T10:00:00.123%2B05:00',
    '/api/feed?after=1234567&limit=100',
  ])('%s is kept as it is', (url) => {
    expect(maskUrl(url)).toBe(url);
  });
});
