/** TRANSPARENCY_ACCESS=auditor: the proofs are served to auditors only, and each of their reads is recorded. */
import { ACCESS_LOG_PREFIX } from '../../src/modules/audit/http/auditor-access-log';
import { startHarness, type ApiHarness } from '../support/api-harness';
import { auditor } from './support';

let api: ApiHarness;
beforeAll(async () => {
  api = await startHarness({ TRANSPARENCY_ACCESS: 'auditor' });
});
afterAll(async () => api.close());

describe('auditor-only proofs', () => {
  it('401 without a token, 403 for another role, 200 for an auditor, whose read is recorded', async () => {
    expect((await api.call('GET', '/api/transparency/checkpoint')).status).toBe(401);
    expect((await api.call('GET', '/api/transparency/keys')).status).toBe(401);
    expect(
      (
        await api.call('GET', '/api/transparency/proofs/consistency?from=0&to=0', {
          as: { sub: 'clerk-1', roles: ['registry-clerk'], unit: 'astana' },
        })
      ).status,
    ).toBe(403);
    const ok = await api.call('GET', '/api/transparency/checkpoint', { as: auditor });
    expect(ok.status).toBe(200);
    expect(ok.body).toMatch(/^reglament\.local\/log\n/);
    const recorded = await api.app.infra.eventLog.readAll({ filter: { streamPrefixes: [ACCESS_LOG_PREFIX] } });
    expect(recorded.map((e) => (e.data as { path: string }).path)).toContain('/api/transparency/checkpoint');
  });
});
