/**
 * Inputs that once made the real server answer 500 (issue 14.12); each must be a 4xx problem+json that changes nothing.
 */
import { fileSampleCase, sampleFiling, startHarness, makeIin, type ApiHarness } from '../support/api-harness';
import { callerFor } from '../support/case-walk';
import { connect } from 'node:net';
import { rawRequest } from '../support/raw-http';

let api: ApiHarness;
let caseId: string;
const iin = makeIin('870707', 4, 12);
const applicant = callerFor('applicant', 'astana', iin);
const auditor = { sub: 'auditor-1', roles: ['auditor'], unit: 'audit' };
const filing = sampleFiling(iin);

beforeAll(async () => {
  api = await startHarness();
  const r = await api.call('POST', '/api/cases', { as: applicant, body: filing });
  expect(r.status).toBe(201);
  caseId = r.body.caseId;
}, 60_000);
afterAll(async () => api.close());

const isProblem = (r: { headers: Headers | Record<string, unknown> }) =>
  expect(r.headers instanceof Headers ? r.headers.get('content-type') : String(r.headers['content-type'])).toMatch(
    /^application\/problem\+json/,
  );

describe('JSON nested deeper than any request needs', () => {
  it.each([3_000, 100_000])('400 for a body nested %i deep, and nothing is written', async (depth) => {
    // The filing's regulation version is pinned in the log at its first use, just after the filing is answered.
    await api.app.infra.catalogPins.settled();
    const before = await api.app.infra.eventLog.headPosition();
    const nested = '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);
    for (const [path, rawBody] of [
      [
        '/api/cases',
        `{"serviceId":"personnel-reserve","channel":"portal","unit":"astana","applicant":{"iin":"${iin}","fullName":"Ф"},"cohortDates":${nested}}`,
      ],
      [`/api/cases/${caseId}/steps/registration`, `{"data":${nested}}`],
      [`/api/cases/${caseId}/cancel`, nested],
    ]) {
      const r = await api.call('POST', path, { as: applicant, rawBody });
      expect({ path, status: r.status }).toEqual({ path, status: 400 });
      isProblem(r);
      expect(r.body.errors[0]).toMatchObject({ field: 'body', allowed: expect.stringMatching(/at most \d+ levels/) });
    }
    expect(await api.app.infra.eventLog.headPosition()).toBe(before);
  });

  it('400 for a deep body that also names __proto__ (the JSON parser scans such bodies itself)', async () => {
    const depth = 20_000;
    const r = await api.call('POST', '/api/cases', {
      as: applicant,
      rawBody: '{"__proto__":1,"a":' + '['.repeat(depth) + ']'.repeat(depth) + '}',
    });
    expect(r.status).toBe(400);
    isProblem(r);
  });
});

// Found by the route fuzz: class-transformer threw on a nested object whose own key is "constructor" (a 500).
it.each([
  ['/api/transparency/cosignatures', '{"cohortDates":{"constructor":" "}}', 'body.cohortDates.constructor'],
  ['/api/cases', '{"serviceId":"personnel-reserve","applicant":{"constructor":{"x":1}}}', 'body.applicant.constructor'],
  ['/api/cases', '{"prototype":1}', 'body.prototype'],
])(
  '400 problem+json naming the field for POST %s with a field named like the object machinery (%s)',
  async (path, rawBody, field) => {
    await api.app.infra.catalogPins.settled();
    const before = await api.app.infra.eventLog.headPosition();
    const r = await api.call('POST', path, { as: applicant, rawBody });
    expect(r.status).toBe(400);
    isProblem(r);
    expect(r.body.errors[0]).toMatchObject({ field });
    expect(await api.app.infra.eventLog.headPosition()).toBe(before);
  },
);

it('401 with a Latin-1 WWW-Authenticate header for a token whose role or name is not Latin-1', async () => {
  for (const caller of [
    { sub: 'x', roles: ['админ'], unit: 'astana' },
    { sub: 'Айгерим', name: 'Айгерим', roles: ['регистратор'], unit: 'астана' },
  ]) {
    const r = await api.call('GET', '/api/worklist', { as: caller });
    expect(r.status).toBe(401);
    isProblem(r);
    expect(r.headers.get('www-authenticate')).toMatch(
      /^Bearer error="invalid_token", error_description="[\x20-\x7e]*"$/,
    );
    // The body keeps the whole reason, in whatever script it came.
    expect(r.body.detail).toMatch(/админ|регистратор/);
  }
});

it.each(['constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf'])(
  '404 problem+json for GET /dashboard/%s',
  async (name) => {
    for (const path of [`/dashboard/${name}`, `/dashboard/vendor/${name}`]) {
      const r = await api.call('GET', path);
      expect({ path, status: r.status }).toEqual({ path, status: 404 });
      isProblem(r);
    }
  },
);

it('400 naming the parameter for a query parameter given twice, on every kind of route', async () => {
  for (const path of [
    `/api/cases/${caseId}/history?type=ApplicationSubmitted&type=DocumentRegistered`,
    `/api/cases/${caseId}/state?asOf=2015-10-06T00:00:00Z&asOf=2015-10-07T00:00:00Z`,
    `/api/cases/${caseId}/sla/explain?asOf=2015-10-06T00:00:00Z&asOf=2015-10-07T00:00:00Z`,
    '/api/compliance/summary?groupBy=service&groupBy=step',
    '/api/regulations?serviceId=a&serviceId=b',
    '/api/calendar/KZ/working-days?from=2024-01-01&from=2024-01-02&to=2024-01-31',
    '/api/cases?status=open&status=closed',
  ]) {
    const r = await api.call('GET', path, { as: auditor });
    expect({ path, status: r.status }).toEqual({ path, status: 400 });
    isProblem(r);
    expect(r.body.errors[0]).toMatchObject({ field: expect.stringMatching(/^query\./), allowed: 'one value' });
  }
});

it('history still takes a comma-separated list of types', async () => {
  const r = await api.call('GET', `/api/cases/${caseId}/history?type=ApplicationSubmitted,DocumentRegistered`, {
    as: auditor,
  });
  expect(r.status).toBe(200);
  expect(r.body.returned).toBe(1);
});

it('414 problem+json for a path parameter longer than the router takes', async () => {
  const r = await rawRequest(api.url, 'GET', `/api/cases/${'a'.repeat(5_000)}`, {
    headers: { authorization: `Bearer ${await api.token(auditor)}` },
  });
  expect(r.status).toBe(414);
  expect(r.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(JSON.parse(r.body)).toMatchObject({ status: 414, type: expect.stringContaining('uri-too-long') });
});

it('400 problem+json for a malformed percent-escape in the path', async () => {
  const r = await rawRequest(api.url, 'GET', '/api/cases/%zz');
  expect(r.status).toBe(400);
  expect(r.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(JSON.parse(r.body)).toMatchObject({ type: expect.stringContaining('bad-url') });
});

describe('what Node refuses before the router sees it', () => {
  /** The raw answer to bytes written on a fresh connection. */
  const rawExchange = (bytes: string) =>
    new Promise<string>((resolve, reject) => {
      const { hostname, port } = new URL(api.url);
      const socket = connect(Number(port), hostname, () => socket.write(bytes));
      let answer = '';
      socket.on('data', (chunk) => (answer += chunk.toString()));
      socket.on('close', () => resolve(answer));
      socket.on('error', (error) => (answer ? resolve(answer) : reject(error)));
    });
  const parse = (answer: string) => {
    const [head, body] = answer.split('\r\n\r\n');
    return { status: Number(head.split(' ')[1]), head: head.toLowerCase(), body: JSON.parse(body) };
  };

  it('431 problem+json for a request line and headers over 16 KiB', async () => {
    const answer = parse(await rawExchange(`GET /api/cases?x=${'a'.repeat(20_000)} HTTP/1.1\r\nHost: x\r\n\r\n`));
    expect(answer.status).toBe(431);
    expect(answer.head).toContain('content-type: application/problem+json');
    expect(answer.head).toContain("frame-ancestors 'none'");
    expect(answer.body).toMatchObject({ status: 431, type: expect.stringContaining('headers-too-large') });
  });

  it('400 problem+json for a request that is not HTTP', async () => {
    const answer = parse(await rawExchange('GET / HTTP/1.1\r\nHost: x\r\nnot a header\r\n\r\n'));
    expect(answer.status).toBe(400);
    expect(answer.head).toContain('content-type: application/problem+json');
    expect(answer.body).toMatchObject({ status: 400 });
  });
});

describe('bodies that are not a JSON object', () => {
  /** The routes that take a body, and who may call each (the body is read before the caller is checked). */
  const bodyRoutes = () => [
    '/api/cases',
    `/api/cases/${caseId}/steps/registration`,
    `/api/cases/${caseId}/cancel`,
    '/api/webhooks/subscriptions',
    '/api/personal-data/erasures',
    '/api/transparency/cosignatures',
  ];
  const unchanged = async (run: () => Promise<void>) => {
    await api.app.infra.catalogPins.settled();
    const before = await api.app.infra.eventLog.headPosition();
    await run();
    expect(await api.app.infra.eventLog.headPosition()).toBe(before);
  };

  it.each([
    ['malformed JSON', '{"url":', 'invalid-json', /^is not valid JSON: it ends before the JSON value is complete$/],
    [
      'JSON with a stray comma',
      '{"a":1,}',
      'invalid-json',
      /^is not valid JSON: .* at position 7 \(line 1, column 8\)$/,
    ],
    ['an empty body', '', 'empty-body', /^is empty$/],
    [
      'a __proto__ key',
      '{"a":{"__proto__":{"admin":true}}}',
      'prototype-key',
      /^holds a __proto__ key \(at a\.__proto__\)$/,
    ],
    [
      'a constructor.prototype key',
      '{"constructor":{"prototype":{"admin":true}}}',
      'prototype-key',
      /^holds a constructor\.prototype key/,
    ],
    // JSON.parse keeps the last of the two; another reader of the stored request would keep the first (I-JSON).
    [
      'a field named twice',
      '{"unit":"astana","unit":"almaty"}',
      'duplicate-key',
      /^names the field "unit" twice \(at unit\)$/,
    ],
    [
      'half a surrogate pair',
      '{"reason":"\\ud800"}',
      'lone-surrogate',
      /^holds a \\u escape of half a surrogate pair without its other half \(at reason\)$/,
    ],
  ])(
    '400 problem+json naming body for %s, on every route that takes a body, and nothing is written',
    async (_, rawBody, code, problem) => {
      await unchanged(async () => {
        for (const path of bodyRoutes()) {
          const r = await api.call('POST', path, { as: applicant, rawBody });
          expect({ path, status: r.status, type: r.body.type }).toEqual({
            path,
            status: 400,
            type: `https://reglament.kz/problems/${code}`,
          });
          isProblem(r);
          expect(r.body.title).not.toMatch(/Exception/);
          expect(r.body.errors).toEqual([
            {
              field: 'body',
              problem: expect.stringMatching(problem),
              allowed: expect.stringMatching(/^a JSON object/),
            },
          ]);
        }
      });
    },
  );

  it.each([
    [
      'multipart/form-data; boundary=x',
      '--x\r\nContent-Disposition: form-data; name="serviceId"\r\n\r\npersonnel-reserve\r\n--x--\r\n',
    ],
    [
      'application/x-www-form-urlencoded',
      `serviceId=personnel-reserve&channel=portal&unit=astana&applicant[iin]=${iin}`,
    ],
    ['text/plain', '{"serviceId":"personnel-reserve"}'],
  ])('415 problem+json naming %s and that bodies are JSON, and nothing is written', async (type, rawBody) => {
    await unchanged(async () => {
      for (const path of bodyRoutes()) {
        const r = await api.call('POST', path, { as: applicant, rawBody, headers: { 'content-type': type } });
        expect({ path, status: r.status, type: r.body.type }).toEqual({
          path,
          status: 415,
          type: 'https://reglament.kz/problems/unsupported-media-type',
        });
        isProblem(r);
        expect(r.body.errors).toEqual([
          { field: 'header.Content-Type', problem: `is ${type}`, allowed: expect.stringContaining('application/json') },
        ]);
      }
    });
  });

  it('415 problem+json for a body sent without a Content-Type', async () => {
    const r = await rawRequest(api.url, 'POST', '/api/cases', {
      headers: { authorization: `Bearer ${await api.token(applicant)}`, 'content-type': '' },
      body: '{"serviceId":"personnel-reserve"}',
    });
    expect(r.status).toBe(415);
    expect(JSON.parse(r.body).errors).toEqual([
      { field: 'header.Content-Type', problem: 'is missing for a request with a body', allowed: expect.any(String) },
    ]);
  });

  // A re-test's findings: the charset was ignored and bytes that are not UTF-8 were read with replacement characters (a
  // Latin-1 name was stored in the log as U+FFFD), and a leading byte order mark was refused where it had been ignored.
  it('415 for a body that names a charset other than UTF-8, 400 for bytes that are not UTF-8; nothing is written', async () => {
    const latin1 = Buffer.from(JSON.stringify({ ...filing, applicant: { iin, fullName: 'José Müller' } }), 'latin1');
    await unchanged(async () => {
      const authorization = `Bearer ${await api.token(applicant)}`;
      const named = await rawRequest(api.url, 'POST', '/api/cases', {
        headers: { authorization, 'content-type': 'application/json;charset=latin1' },
        body: latin1,
      });
      expect(named.status).toBe(415);
      expect(JSON.parse(named.body).errors).toEqual([
        { field: 'header.Content-Type', problem: 'names charset latin1', allowed: 'application/json; charset=utf-8' },
      ]);
      const unnamed = await rawRequest(api.url, 'POST', '/api/cases', { headers: { authorization }, body: latin1 });
      expect(unnamed.status).toBe(400);
      expect(JSON.parse(unnamed.body)).toMatchObject({
        type: 'https://reglament.kz/problems/invalid-utf8',
        errors: [{ field: 'body', problem: 'is not valid UTF-8' }],
      });
    });
  });

  it('a leading byte order mark is no part of the JSON: the body is read without it', async () => {
    const r = await rawRequest(api.url, 'POST', '/api/cases', {
      headers: {
        authorization: `Bearer ${await api.token(applicant)}`,
        'content-type': 'application/json; charset=utf-8',
      },
      body: Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(JSON.stringify({ ...filing, serviceId: 7 }))]),
    });
    // Past the parser, to the body's own validation.
    expect(r.status).toBe(400);
    expect(new Set(JSON.parse(r.body).errors.map((e: { field: string }) => e.field))).toEqual(new Set(['serviceId']));
  });

  it('413 problem+json naming body for a body over 1 MiB', async () => {
    const r = await api.call('POST', '/api/cases', { as: applicant, rawBody: `"${'a'.repeat(1_100_000)}"` });
    expect({ status: r.status, type: r.body.type }).toEqual({
      status: 413,
      type: 'https://reglament.kz/problems/body-too-large',
    });
    expect(r.body.errors).toEqual([{ field: 'body', problem: expect.any(String), allowed: 'at most 1048576 bytes' }]);
  });

  it('400 naming body for a JSON null, where no body at all is still an empty object', async () => {
    const { caseId: own } = await fileSampleCase(api, 41);
    const owner = callerFor('applicant', 'astana', makeIin('870707', 4, 41));
    await unchanged(async () => {
      const r = await api.call('POST', `/api/cases/${own}/cancel`, { as: owner, rawBody: 'null' });
      expect({ status: r.status, errors: r.body.errors }).toEqual({
        status: 400,
        errors: [{ field: 'body', problem: 'must be a JSON object, not null', allowed: expect.any(String) }],
      });
    });
    const none = await api.call('POST', `/api/cases/${own}/cancel`, { as: owner });
    expect(none.status).toBe(201);
  });
});

// Found by attacking the server: class-transformer skips a key named like a method of Object.prototype, so the act
// was recorded without it (`cohortDates: {}`) where any other unknown date name is refused.
it.each(['valueOf', 'toString', 'hasOwnProperty', 'isPrototypeOf', 'toLocaleString', '__defineGetter__'])(
  '400 problem+json naming body.cohortDates.%s for a filing with that key, and nothing is written',
  async (key) => {
    await api.app.infra.catalogPins.settled();
    const before = await api.app.infra.eventLog.headPosition();
    const r = await api.call('POST', '/api/cases', {
      as: applicant,
      body: { ...filing, cohortDates: { [key]: '2016-01-01' } },
    });
    expect({ status: r.status, errors: r.body.errors }).toEqual({
      status: 400,
      errors: [
        {
          field: `body.cohortDates.${key}`,
          problem: 'is not a field name this API takes',
          allowed: expect.stringContaining('Object.prototype'),
        },
      ],
    });
    expect(await api.app.infra.eventLog.headPosition()).toBe(before);
  },
);

// Found by attacking the running server: a unit was free text, so a citizen filed into "\u202Eanatsa" (read as
// "astana" in the auditor's unit filter), a unit with markup, tabs or zero-width characters, which the dashboard's own
// unit filter could not even ask for; a token's unit claim was any text too.
describe('units are ids', () => {
  it.each(['\u202Eanatsa', 'ast\u200Bana', 'astana\tx', '<b>astana</b>', ' astana', 'astana-', ''])(
    '400 naming unit for a filing into %j, and nothing is written',
    async (unit) => {
      await api.app.infra.catalogPins.settled();
      const before = await api.app.infra.eventLog.headPosition();
      const r = await api.call('POST', '/api/cases', { as: applicant, body: { ...filing, unit } });
      expect(r.status).toBe(400);
      expect(r.body.errors).toEqual([
        expect.objectContaining({ field: 'unit', allowed: expect.stringMatching(/^a unit id: letters of any script/) }),
      ]);
      expect(await api.app.infra.eventLog.headPosition()).toBe(before);
    },
  );

  it('a unit named in Kazakh or Russian, with a space, is a unit id (an identity provider may name units so)', async () => {
    const iin = makeIin('870707', 4, 31);
    const r = await api.call('POST', '/api/cases', {
      as: callerFor('applicant', 'astana', iin),
      body: { ...sampleFiling(iin), unit: 'ЦОН 3' },
    });
    expect(r.status).toBe(201);
  });

  it('400 naming applicant.fullName for a name with an invisible character, and nothing is written', async () => {
    const before = await api.app.infra.eventLog.headPosition();
    const r = await api.call('POST', '/api/cases', {
      as: applicant,
      body: { ...filing, applicant: { ...filing.applicant, fullName: 'Серикова\u202E Айгерим' } },
    });
    expect(r.status).toBe(400);
    expect(r.body.errors).toEqual([
      expect.objectContaining({ field: 'applicant.fullName', problem: expect.stringContaining('U+202E') }),
    ]);
    expect(await api.app.infra.eventLog.headPosition()).toBe(before);
  });

  it('401 for a token whose unit claim is not a unit id', async () => {
    const r = await api.call('GET', '/api/cases', {
      as: { sub: 'clerk-rlo', roles: ['registry-clerk'], unit: '\u202Eanatsa' },
    });
    expect(r.status).toBe(401);
    expect(JSON.stringify(r.body)).toContain('claim \\"unit\\" is not a unit id');
  });
});
