/**
 * Not a test: the server thread's CPU per answer of GET /api/cases/:caseId when each case is read for the first time
 * (its view rendered, the reader's first read of it that day recorded), against the same reads again (kept views).
 *
 *   node -r ./test/support/swc-register.js test/support/cold-view-cpu.ts   (CASES_ cases; PROFILE_=<dir> profiles the first reads)
 */
import { Worker } from 'node:worker_threads';
import { fileSampleCase, startHarness } from './api-harness';
import { mainThreadCpu, printCpuPerAnswer } from './server-thread-cpu';
import { startProfile } from '../../src/bench/audit-compliance.bench';

async function main() {
  const api = await startHarness({ RATE_LIMIT_PER_MINUTE: '0', FILINGS_PER_DAY: '0' });
  const ids: string[] = [];
  let pos = 0;
  const cases = Number(process.env.CASES_ ?? 3000);
  for (let i = 0; i < cases; i++) {
    const filed = await fileSampleCase(api, 100 + i);
    ids.push(filed.caseId);
    pos = filed.position;
  }
  await api.app.infra.projections.readModels.waitFor('cases', pos, 60_000);
  const token = await api.token({ sub: 'registry-clerk-astana', roles: ['registry-clerk'], unit: 'astana' });
  await api.call('GET', `/api/cases/${ids[0]}`, { as: token });
  const code = `
    const { workerData, parentPort } = require('node:worker_threads');
    const autocannon = require('autocannon');
    const { url, ids, token } = workerData;
    let i = 1;
    const run = () => new Promise((res, rej) => autocannon({ url, connections: 10, amount: ids.length - 1,
      requests: [{ setupRequest: (r) => ({ ...r, method: 'GET', path: '/api/cases/' + ids[i++ % ids.length], headers: { authorization: 'Bearer ' + token } }) }] },
      (e, r) => e ? rej(e) : res(r)));
    parentPort.on('message', async () => { i = 1; const r = await run(); parentPort.postMessage({ n: r.totalCompletedRequests, non2xx: r.non2xx, p99: r.latencies.p99 }); });`;
  const w = new Worker(code, { eval: true, workerData: { url: api.url, ids, token } });
  for (const label of ['first reads', 'second reads']) {
    const profile = process.env.PROFILE_ && label === 'first reads' ? await startProfile() : null;
    const before = mainThreadCpu();
    w.postMessage('go');
    const out = await new Promise<{ n: number; non2xx: number; p99: number }>((res) => w.once('message', res));
    const after = mainThreadCpu();
    if (profile) await profile.stop(`${process.env.PROFILE_}/first-reads.cpuprofile`);
    printCpuPerAnswer(label, out, before, after);
  }
  await w.terminate();
  await api.close();
  process.exit(0);
}
void main();
