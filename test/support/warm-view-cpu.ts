/**
 * Not a test: the server thread's CPU per answer of GET /api/cases/:caseId with every view already rendered, for
 * comparing two builds on a loaded machine (BENCHMARKS.md, issue 19). The bench's views run reads 5,000 cases once
 * each in its warm-up when the machine is quiet, but under load a share of its measured answers are first reads that
 * render, and that share moves with the rate; here 300 cases are filed and each read once before measuring, and
 * autocannon (10 connections) runs in a worker thread, so the main thread is the server alone.
 *
 *   node -r ./test/support/swc-register.js test/support/warm-view-cpu.ts   (LABEL names the line, SECONDS_ the run)
 */
import { Worker } from 'node:worker_threads';
import { fileSampleCase, startHarness } from './api-harness';
import { mainThreadCpu, printCpuPerAnswer } from './server-thread-cpu';

async function main() {
  const api = await startHarness({ RATE_LIMIT_PER_MINUTE: '0', FILINGS_PER_DAY: '0' });
  const ids: string[] = [];
  let pos = 0;
  for (let i = 0; i < 300; i++) {
    const filed = await fileSampleCase(api, 100 + i);
    ids.push(filed.caseId);
    pos = filed.position;
  }
  await api.app.infra.projections.readModels.waitFor('cases', pos, 30_000);
  const token = await api.token({ sub: 'registry-clerk-astana', roles: ['registry-clerk'], unit: 'astana' });
  for (const id of ids) await api.call('GET', `/api/cases/${id}`, { as: token });
  const seconds = Number(process.env.SECONDS_ ?? 4);
  const code = `
    const { workerData, parentPort } = require('node:worker_threads');
    const autocannon = require('autocannon');
    const { url, ids, token, seconds } = workerData;
    let i = 0;
    const run = (d) => new Promise((res, rej) => autocannon({ url, connections: 10, duration: d,
      requests: [{ setupRequest: (r) => ({ ...r, method: 'GET', path: '/api/cases/' + ids[i++ % ids.length], headers: { authorization: 'Bearer ' + token } }) }] },
      (e, r) => e ? rej(e) : res(r)));
    (async () => { await run(1); parentPort.postMessage('go'); const r = await run(seconds); parentPort.postMessage({ n: r.totalCompletedRequests, non2xx: r.non2xx, p99: r.latencies.p99 }); })();`;
  const w = new Worker(code, { eval: true, workerData: { url: api.url, ids, token, seconds } });
  let before = mainThreadCpu();
  const out = await new Promise<{ n: number; non2xx: number; p99: number }>((res) =>
    w.on('message', (m) => (m === 'go' ? (before = mainThreadCpu()) : res(m))),
  );
  printCpuPerAnswer(process.env.LABEL, out, before, mainThreadCpu());
  await w.terminate();
  await api.close();
  process.exit(0);
}
void main();
