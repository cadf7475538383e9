/**
 * The API document as a contract a back office builds on (issue 20): the running server's /api/docs-json passes
 * `redocly lint` with no error, documents every operation's success and problem+json errors, security and names;
 * and a client generated from it with openapi-typescript + openapi-fetch type-checks and, run against the server,
 * files a case, takes a step and reads the case back.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import ts from 'typescript';
import { loadCatalog } from '../../src/modules/regulations/domain/catalog';
import { rolesOn } from '../../src/modules/regulations/domain/regulation-schema';
import { checkIin } from '../../src/modules/identity/domain/iin';
import { OPERATIONS } from '../../src/app/openapi/operations';
import { fileSampleCase, makeIin, startHarness, type ApiHarness, type TestCaller } from '../support/api-harness';
import { callerFor, mainPath, VALID_DATA } from '../support/case-walk';

const run = promisify(execFile);
const ROOT = join(__dirname, '../..');
const catalog = loadCatalog('data/regulations');
/** The step the sample case (fileSampleCase) waits at after its filing. */
const STEP_OF_SAMPLE = mainPath(catalog.byService.get('personnel-reserve')![0]!, 'competition-recommended')[1]!.id;

type Json = Record<string, any>;

let api: ApiHarness;
let document: Json;
let dir: string;
beforeAll(async () => {
  api = await startHarness();
  document = (await api.call('GET', '/api/docs-json')).body;
  dir = mkdtempSync(join(tmpdir(), 'reglament-contract-'));
  // The generated program resolves openapi-fetch (and the compiler its types) from the project's packages.
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
});
afterAll(async () => {
  await api.close();
  rmSync(dir, { recursive: true, force: true });
});

/** The JSON success schema of an operation, by its operationId. */
const byOperation = (id: string): Json => {
  const { operation } = operations().find(({ operation }) => operation.operationId === id)!;
  const [, response] = Object.entries(operation.responses as Record<string, Json>).find(([s]) => /^2/.test(s))!;
  return response.content['application/json'].schema;
};

/** Where a body departs from a schema of the document: a required member missing, a value of another type or enum. */
function conforms(value: unknown, schema: Json, path: string): string[] {
  const schemas = document.components.schemas as Record<string, Json>;
  if (schema.$ref) return conforms(value, schemas[String(schema.$ref).replace('#/components/schemas/', '')]!, path);
  if (value === null) return schema.nullable ? [] : [`${path}: null, not nullable`];
  if (schema.allOf) return schema.allOf.flatMap((s: Json) => conforms(value, s, path));
  if (schema.enum && !schema.enum.includes(value)) return [`${path}: ${JSON.stringify(value)} not in the enum`];
  const type = Array.isArray(value) ? 'array' : typeof value;
  const expected = schema.type === 'integer' ? 'number' : schema.type;
  if (expected && expected !== type) return [`${path}: ${type}, documented ${schema.type}`];
  if (type === 'array') return (value as unknown[]).flatMap((v, i) => conforms(v, schema.items ?? {}, `${path}[${i}]`));
  if (type !== 'object') return [];
  const body = value as Json;
  return [
    ...((schema.required ?? []) as string[]).filter((k) => !(k in body)).map((k) => `${path}.${k}: missing`),
    ...Object.entries((schema.properties ?? {}) as Record<string, Json>)
      .filter(([k]) => k in body)
      .flatMap(([k, s]) => conforms(body[k], s, `${path}.${k}`)),
  ];
}

/** JSON successes left without a schema of members, each with why. */
const UNTYPED_JSON: Record<string, string> = {};

const operations = () =>
  Object.entries(document.paths as Record<string, Record<string, Json>>).flatMap(([path, item]) =>
    Object.entries(item)
      .filter(([method]) => ['get', 'post', 'put', 'patch', 'delete'].includes(method))
      .map(([method, operation]) => ({ route: `${method.toUpperCase()} ${path}`, operation })),
  );

describe('the served API document', () => {
  it('documents the problems an operation answers beyond its kind: the inclusion proof of an event no checkpoint covers yet is 409', () => {
    const { operation } = operations().find(({ operation }) => operation.operationId === 'getInclusionProof')!;
    const conflict = (operation.responses as Record<string, Json>)['409'];
    expect(conflict?.description).toMatch(/not-yet-checkpointed/);
    expect(Object.keys(conflict.content)).toEqual(['application/problem+json']);
  });

  it('passes redocly lint (recommended rules) with 0 errors and 0 warnings', async () => {
    const file = join(dir, 'openapi.json');
    writeFileSync(file, JSON.stringify(document));
    // redocly exits non-zero when it finds errors; its JSON report is on stdout either way.
    const { stdout } = await run(
      process.execPath,
      [join(ROOT, 'node_modules/@redocly/cli/bin/cli.js'), 'lint', file, '--format=json'],
      { cwd: dir, maxBuffer: 16 * 1024 * 1024 },
    ).catch((error: { stdout: string }) => ({ stdout: error.stdout }));
    const report = JSON.parse(stdout.slice(stdout.indexOf('{')));
    expect({ totals: report.totals, problems: report.problems.map((p: Json) => `${p.ruleId}: ${p.message}`) }).toEqual({
      totals: { errors: 0, warnings: 0, ignored: 0 },
      problems: [],
    });
  }, 60_000);

  it('names every operation as operations.ts does (fileCase, getCase…), never after a controller method, each once', () => {
    const ids = operations().map(({ operation }) => operation.operationId as string);
    expect(ids.filter((id) => id.includes('_'))).toEqual([]);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toEqual(
      expect.arrayContaining(['fileCase', 'takeStep', 'cancelCase', 'getCase', 'listCases', 'getCaseSla']),
    );
    expect(ids.sort()).toEqual(
      Object.values(OPERATIONS)
        .map((o) => o.operationId)
        .sort(),
    );
  });

  it('documents a success body and problem+json errors with errors[] {field, problem, allowed} for every operation', () => {
    const problem = document.components.schemas.ProblemDto;
    expect(problem.required).toEqual(expect.arrayContaining(['type', 'title', 'status']));
    expect(document.components.schemas.ProblemFieldErrorDto.properties).toEqual(
      expect.objectContaining({ field: expect.anything(), problem: expect.anything(), allowed: expect.anything() }),
    );
    for (const { route, operation } of operations()) {
      const statuses = Object.keys(operation.responses);
      const success = statuses.filter((s) => /^2/.test(s));
      expect({ route, success: success.length }).toEqual({ route, success: 1 });
      if (success[0] !== '204')
        expect({ route, content: Object.keys(operation.responses[success[0]!].content ?? {}).length }).toEqual({
          route,
          content: 1,
        });
      expect({ route, has400: statuses.includes('400') }).toEqual({ route, has400: true });
      for (const status of statuses.filter((s) => /^[45]/.test(s))) {
        expect({
          route,
          status,
          schema: operation.responses[status].content['application/problem+json'].schema,
        }).toEqual({ route, status, schema: { $ref: '#/components/schemas/ProblemDto' } });
      }
    }
  });

  it('describes the success body of the case, regulation and calendar operations by a schema of its members, not a bare object', () => {
    const byId = Object.fromEntries(operations().map(({ operation }) => [operation.operationId, operation]));
    for (const id of [
      'fileCase',
      'takeStep',
      'cancelCase',
      'getCase',
      'listCases',
      'getCaseSla',
      'listRegulations',
      'resolveRegulation',
      'getRegulation',
      'countWorkingDays',
      'computeDeadline',
    ]) {
      const [status, response] = Object.entries(byId[id]!.responses as Record<string, Json>).find(([s]) =>
        /^2/.test(s),
      )!;
      expect({ id, status, schema: response.content['application/json'].schema }).toEqual({
        id,
        status,
        schema: { $ref: expect.stringMatching(/^#\/components\/schemas\//) },
      });
    }
  });

  it('types every JSON success body by a schema with its members, save the few listed here with why', () => {
    const schemas = document.components.schemas as Record<string, Json>;
    const resolve = (schema: Json): Json =>
      schema.$ref ? schemas[String(schema.$ref).replace('#/components/schemas/', '')]! : schema;
    const untyped = operations().flatMap(({ operation }) =>
      Object.entries(operation.responses as Record<string, Json>)
        .filter(([status, response]) => /^2/.test(status) && response.content?.['application/json'])
        .filter(([, response]) => !resolve(response.content['application/json'].schema).properties)
        .map(() => operation.operationId as string),
    );
    expect(untyped.sort()).toEqual(Object.keys(UNTYPED_JSON).sort());
    // A typed answer names its members, each with a type or a schema of its own.
    const compliance = resolve(byOperation('listOverdueSteps'));
    expect(Object.keys(compliance.properties)).toEqual(
      expect.arrayContaining(['staleness', 'asOf', 'total', 'offset', 'limit', 'rows']),
    );
    expect(resolve(compliance.properties.rows.items).properties.overdueMinutes).toMatchObject({ type: 'number' });
    expect(resolve(byOperation('getCaseHistory')).properties.events).toMatchObject({ type: 'array' });
    expect(Object.keys(resolve(byOperation('getFeed')).properties).sort()).toEqual(['head', 'items', 'next']);
    expect(resolve(byOperation('getInclusionProof')).required).toEqual(
      expect.arrayContaining(['leafIndex', 'treeSize', 'leaf', 'leafHash', 'proof', 'checkpoint']),
    );
  });

  it("matches the server's real answers: each member a schema requires is there, of its type, for a filed case", async () => {
    const { caseId, position } = await fileSampleCase(api);
    const auditor = { sub: 'auditor-contract', roles: ['auditor'], unit: 'hq' };
    // Staff of the unit in the role the sample case's next step needs: its worklist holds that step.
    const version = catalog.byService.get('personnel-reserve')![0]!;
    const next = mainPath(version, 'competition-recommended')[1]!;
    const staff = {
      sub: 'staff-contract',
      roles: [rolesOn(next, 'competition-recommended').find((r) => r !== 'applicant')!],
      unit: 'astana',
    };
    const admin = { sub: 'admin-contract', roles: ['admin'], unit: 'hq' };
    // A checkpoint over the filing, so that an inclusion proof and the checkpoint list have something to show.
    expect((await api.call('POST', '/api/transparency/checkpoint', { as: auditor })).status).toBe(201);
    const reads: [string, string, TestCaller | null][] = [
      ['getComplianceSummary', `/api/compliance/summary?groupBy=channel&after=${position}`, auditor],
      ['listOverdueSteps', `/api/compliance/overdue?after=${position}`, auditor],
      ['listAtRiskSteps', `/api/compliance/at-risk?after=${position}`, auditor],
      ['listStepCases', `/api/compliance/step-cases?serviceId=personnel-reserve&stepId=${STEP_OF_SAMPLE}`, auditor],
      ['getWorklist', `/api/worklist?after=${position}`, staff],
      // The case view (its open steps' deadlines) and its SLA rows, each with the other reading where the text
      // contradicts itself: their citations were documented as strings and sent as { ru, kk, en }.
      ['getCase', `/api/cases/${caseId}?after=${position}`, auditor],
      ['getCaseSla', `/api/cases/${caseId}/sla?after=${position}`, auditor],
      ['getCaseHistory', `/api/cases/${caseId}/history`, auditor],
      ['getCaseState', `/api/cases/${caseId}/state`, auditor],
      ['explainCaseSla', `/api/cases/${caseId}/sla/explain`, auditor],
      ['verifyCase', `/api/cases/${caseId}/verify`, auditor],
      ['getFeed', '/api/feed?after=0', auditor],
      ['listCheckpoints', '/api/transparency/checkpoints', null],
      ['getInclusionProof', '/api/transparency/proofs/inclusion?leafIndex=0', null],
      ['listTransparencyKeys', '/api/transparency/keys', null],
      ['getWebhookStatus', '/api/webhooks/status', admin],
      ['listWebhookDeliveries', '/api/webhooks/deliveries', admin],
      ['listRetentionDue', '/api/personal-data/retention-due', admin],
      ['lintRegulations', '/api/regulations/lint', auditor],
      ['getLiveness', '/health/live', null],
      ['getHealth', '/health', null],
      ['getReadiness', '/health/ready', null],
      ['getEvidencePublicKey', '/api/evidence/public-key', null],
      ['getConsistencyProof', '/api/transparency/proofs/consistency?from=1&to=1', null],
      ['listWebhookSubscriptions', '/api/webhooks/subscriptions', admin],
    ];
    const mismatches: string[] = [];
    const bodies: Record<string, Json> = {};
    for (const [id, path, as] of reads) {
      const answer = await api.call('GET', path, as ? { as } : {});
      expect({ id, status: answer.status, detail: answer.body?.detail }).toEqual({
        id,
        status: 200,
        detail: undefined,
      });
      mismatches.push(...conforms(answer.body, byOperation(id), id));
      bodies[id] = answer.body;
    }
    // The webhook commands (the dispatcher is off in tests: nothing is sent; a public IP needs no DNS).
    const created = await api.call('POST', '/api/webhooks/subscriptions', {
      as: admin,
      body: { url: 'https://93.184.216.34/hooks/reglament' },
    });
    expect(created.status).toBe(201);
    mismatches.push(...conforms(created.body, byOperation('createWebhookSubscription'), 'createWebhookSubscription'));
    const replay = await api.call('POST', `/api/webhooks/subscriptions/${created.body.id}/replay`, {
      as: admin,
      body: { after: 0 },
    });
    expect(replay.status).toBe(202);
    mismatches.push(...conforms(replay.body, byOperation('replayWebhookSubscription'), 'replayWebhookSubscription'));
    // The lists checked had rows to check: the 2015 case is overdue now, and its filing is in the history and the feed.
    const counts = {
      overdue: bodies.listOverdueSteps.rows.length,
      history: bodies.getCaseHistory.events.length,
      feed: bodies.getFeed.items.length,
      worklist: bodies.getWorklist.items.length,
      checkpoints: bodies.listCheckpoints.checkpoints.length,
    };
    expect(Object.entries(counts).filter(([, n]) => n === 0)).toEqual([]);
    expect(mismatches).toEqual([]);
  });

  it('says which operations need a bearer token (401 among their answers) and which are public (security: [])', () => {
    expect(document.components.securitySchemes.bearer).toMatchObject({ type: 'http', scheme: 'bearer' });
    const byRoute = Object.fromEntries(operations().map(({ route, operation }) => [route, operation]));
    for (const [route, operation] of Object.entries(byRoute)) {
      const secured = operation.security.length > 0;
      expect({ route, answers401: '401' in operation.responses }).toEqual({ route, answers401: secured });
    }
    expect(byRoute['POST /api/cases']!.security).toEqual([{ bearer: [] }]);
    expect(byRoute['GET /health']!.security).toEqual([]);
    expect(byRoute['GET /api/evidence/public-key']!.security).toEqual([]);
    // Public unless TRANSPARENCY_ACCESS=auditor: a token is optional in the document, and 401 among the answers.
    expect(byRoute['GET /api/transparency/checkpoint']!.security).toEqual([{}, { bearer: [] }]);
    expect(Object.keys(byRoute['GET /api/transparency/checkpoint']!.responses['200'].content)).toEqual(['text/plain']);
  });

  it('has servers, and examples that are valid: the example IINs pass their own check digit', () => {
    expect(document.servers).toEqual([expect.objectContaining({ url: '/' })]);
    const iins = [
      document.components.schemas.ApplicantDto.properties.iin.example,
      document.components.schemas.EraseSubjectDto.properties.iin.example,
    ];
    for (const iin of iins) expect({ iin, valid: checkIin(iin).valid }).toEqual({ iin, valid: true });
  });

  it("types a step's data as the event types' data schemas, not an empty record", () => {
    const data = document.components.schemas.TakeStepDto.properties.data;
    const titles = (data.anyOf as Json[]).map((s) => s.title);
    expect(titles).toEqual(expect.arrayContaining(['DocumentRegistered', 'OrderSigned', 'TestCompleted']));
    expect(titles).not.toContain('ApplicationSubmitted');
    expect(data.anyOf.find((s: Json) => s.title === 'DocumentRegistered')).toMatchObject({
      type: 'object',
      required: ['incomingNumber'],
      additionalProperties: false,
    });
  });
});

/** openapi-typescript's programmatic API: the document in, the `paths` types out. */
const GENERATE = `
import { readFileSync, writeFileSync } from 'node:fs';
import openapiTS, { astToString } from 'openapi-typescript';
const ast = await openapiTS(JSON.parse(readFileSync('openapi.json', 'utf8')));
writeFileSync('schema.d.ts', astToString(ast));
`;

/** The back office's program, written against the generated types only. */
const PROGRAM = `
import createClient from 'openapi-fetch';
import type { paths } from './schema.js';

interface Input { baseUrl: string; applicantToken: string; staffToken: string; iin: string; stepId: string; stepData: Record<string, unknown> }
const input: Input = JSON.parse(process.env['CONTRACT_INPUT'] ?? '{}');
const client = createClient<paths>({ baseUrl: input.baseUrl });
const bearer = (token: string) => ({ Authorization: 'Bearer ' + token });

async function main(): Promise<void> {
  const filed = await client.POST('/api/cases', {
    headers: bearer(input.applicantToken),
    body: { serviceId: 'personnel-reserve', trackId: 'competition-recommended', channel: 'portal', unit: 'astana', applicant: { iin: input.iin, fullName: 'Серикова Айгерим' }, occurredAt: '2015-10-05T09:00:00+06:00' },
  });
  if (!filed.data) throw new Error('filing refused: ' + JSON.stringify(filed.error));
  const caseId: string = filed.data.caseId;
  const versionId: string = filed.data.regulationVersionId;

  const read0 = await client.GET('/api/cases/{caseId}', { params: { path: { caseId }, query: { after: filed.data.position } }, headers: bearer(input.staffToken) });
  if (!read0.data) throw new Error('read refused: ' + JSON.stringify(read0.error));
  const etag = read0.response.headers.get('etag') ?? '';

  const step = await client.POST('/api/cases/{caseId}/steps/{stepId}', {
    params: { path: { caseId, stepId: input.stepId } },
    headers: { ...bearer(input.staffToken), 'If-Match': etag },
    body: { occurredAt: '2015-10-05T10:00:00+06:00', data: input.stepData },
  });
  if (!step.data) throw new Error('step refused: ' + JSON.stringify(step.error));
  const revision: number = step.data.revision;

  const read = await client.GET('/api/cases/{caseId}', { params: { path: { caseId }, query: { after: step.data.position } }, headers: bearer(input.staffToken) });
  if (!read.data) throw new Error('read refused: ' + JSON.stringify(read.error));
  const acts: string[] = read.data.acts.map((act) => act.stepId);

  const stale = await client.POST('/api/cases/{caseId}/steps/{stepId}', {
    params: { path: { caseId, stepId: input.stepId } },
    headers: { ...bearer(input.staffToken), 'If-Match': etag },
    body: { data: input.stepData },
  });
  const refusal = stale.error ? { status: stale.response.status, type: stale.error.type, fields: (stale.error.errors ?? []).map((e) => e.field) } : null;

  console.log(JSON.stringify({
    caseId, versionId, location: filed.response.headers.get('location'), etag, stepRevision: revision,
    read: { caseId: read.data.caseId, revision: read.data.revision, regulationVersionId: read.data.regulationVersionId, status: read.data.status, acts, etag: read.response.headers.get('etag') },
    refusal,
  }));
}
main().catch((error) => { console.error(error); process.exit(1); });
`;

describe('a client generated from the document', () => {
  it('type-checks with tsc, then files a case, takes a step with If-Match and reads the case back from the live server', async () => {
    // openapi-typescript (ESM) runs as the developer would run it: in node, on the served document.
    writeFileSync(join(dir, 'openapi.json'), JSON.stringify(document));
    writeFileSync(join(dir, 'generate.mjs'), GENERATE);
    await run(process.execPath, [join(dir, 'generate.mjs')], { cwd: dir });
    writeFileSync(join(dir, 'client.mts'), PROGRAM);

    const options: ts.CompilerOptions = {
      strict: true,
      noEmit: true,
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.Node16,
      moduleResolution: ts.ModuleResolutionKind.Node16,
      skipLibCheck: true,
      types: ['node'],
      typeRoots: [join(ROOT, 'node_modules/@types')],
    };
    const program = ts.createProgram([join(dir, 'client.mts')], options);
    const diagnostics = ts
      .getPreEmitDiagnostics(program)
      .map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
    expect(diagnostics).toEqual([]);

    const js = ts.transpileModule(PROGRAM, {
      compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext },
    }).outputText;
    writeFileSync(join(dir, 'client.mjs'), js);

    const version = catalog.byService.get('personnel-reserve')![0]!;
    const second = mainPath(version, 'competition-recommended')[1]!;
    const role = rolesOn(second, 'competition-recommended').find((r) => r !== 'applicant')!;
    const iin = makeIin('900502', 4, 17);
    const input = {
      baseUrl: api.url,
      applicantToken: await api.token(callerFor('applicant', 'astana', iin)),
      staffToken: await api.token(callerFor(role, 'astana', iin)),
      iin,
      stepId: second.id,
      stepData: VALID_DATA[second.eventType],
    };
    const { stdout } = await run(process.execPath, [join(dir, 'client.mjs')], {
      cwd: dir,
      env: { PATH: process.env['PATH'] ?? '', CONTRACT_INPUT: JSON.stringify(input) },
    });
    const result = JSON.parse(stdout);
    expect(result).toEqual({
      caseId: expect.stringMatching(/^[0-9a-f-]{36}$/),
      versionId: version.versionId,
      location: `/api/cases/${result.caseId}`,
      etag: '"0"',
      stepRevision: 1,
      read: {
        caseId: result.caseId,
        revision: 1,
        regulationVersionId: version.versionId,
        status: 'open',
        acts: [mainPath(version, 'competition-recommended')[0]!.id, second.id],
        etag: '"1"',
      },
      refusal: { status: 412, type: 'https://reglament.kz/problems/precondition-failed', fields: ['header.If-Match'] },
    });
  }, 120_000);
});
