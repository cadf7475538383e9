/** Shared by the verifiable-log tests: the CLI as a user runs it, cases filed over HTTP, files tampered with as an attacker would. */
import Database from 'better-sqlite3';
import { spawn, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { eventHash } from '../../src/modules/cases/domain/hash-chain';
import type { SignedEvidencePack } from '../../src/modules/audit/domain/evidence-pack';
import type { ApiHarness } from '../support/api-harness';
import { makeIin } from '../support/api-harness';
import { callerFor } from '../support/case-walk';

const ROOT = join(__dirname, '../..');
export const UNIT = 'astana';
export const auditor = { sub: 'auditor-1', name: 'Нурлан Аудитов', roles: ['auditor'], unit: 'hq' };

export function cli(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(
    process.execPath,
    ['-r', join(ROOT, 'test/support/swc-register.js'), join(ROOT, 'src/cli/main.ts'), ...args],
    {
      env: { PATH: process.env.PATH ?? '', CI: '1', LOG_LEVEL: 'silent', ...env },
      encoding: 'utf8',
      timeout: 60_000,
    },
  );
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The CLI run without blocking this process: needed when it calls a server this test process runs. */
export function cliAsync(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['-r', join(ROOT, 'test/support/swc-register.js'), join(ROOT, 'src/cli/main.ts'), ...args],
      { env: { PATH: process.env.PATH ?? '', CI: '1', LOG_LEVEL: 'silent', ...env } },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** A personnel-reserve case with three acts after its submission; returns its id. */
export async function fileCase(api: ApiHarness, seq: number): Promise<string> {
  const iin = makeIin('850315', 3, 40 + seq);
  const created = await api.call('POST', '/api/cases', {
    as: callerFor('applicant', UNIT, iin),
    body: {
      serviceId: 'personnel-reserve',
      trackId: 'competition-recommended',
      channel: 'portal',
      unit: UNIT,
      applicant: { iin, fullName: 'Жумабаева Дана' },
      occurredAt: '2015-12-11T16:00:00+06:00',
    },
  });
  if (created.status !== 201) throw new Error(`case not filed: ${JSON.stringify(created.body)}`);
  const caseId = created.body.caseId as string;
  const steps: [string, string, string, Record<string, unknown>][] = [
    ['registry-clerk', 'documents-registered', '2015-12-14T10:00:00+06:00', { incomingNumber: `04-${1000 + seq}` }],
    ['head', 'assigned-to-employee', '2015-12-14T15:00:00+06:00', { assigneeId: 'employee-7' }],
  ];
  for (const [role, step, occurredAt, data] of steps) {
    const r = await api.call('POST', `/api/cases/${caseId}/steps/${step}`, {
      as: callerFor(role, UNIT, iin),
      body: { occurredAt, data },
    });
    if (r.status !== 201) throw new Error(`step ${step} refused: ${JSON.stringify(r.body)}`);
  }
  return caseId;
}

/**
 * The attacker with write access: changes one event of a stream and recomputes the chain from it on, so every
 * per-stream check still passes.
 */
export function rewriteChain(
  dataDir: string,
  streamId: string,
  revision: number,
  edit: (data: Record<string, unknown>) => void,
): void {
  const db = new Database(join(dataDir, 'events.db'));
  const rows = db
    .prepare('SELECT position, revision, type, data, metadata FROM events WHERE stream_id = ? ORDER BY revision')
    .all(streamId) as Array<{ position: number; revision: number; type: string; data: string; metadata: string }>;
  let previous: string | null = revision > 0 ? (JSON.parse(rows[revision - 1]!.metadata).hash as string) : null;
  const update = db.prepare('UPDATE events SET data = ?, metadata = ? WHERE position = ?');
  for (const row of rows.slice(revision)) {
    const data = JSON.parse(row.data) as Record<string, unknown>;
    if (row.revision === revision) edit(data);
    const { hash: _old, ...metadata } = JSON.parse(row.metadata) as Record<string, unknown>;
    metadata.previousHash = previous;
    const hash = eventHash({ streamId, revision: row.revision, type: row.type, data, metadata });
    update.run(JSON.stringify(data), JSON.stringify({ ...metadata, hash }), row.position);
    previous = hash;
  }
  db.close();
}

export function sql(dataDir: string, statement: string, ...params: unknown[]): number {
  const db = new Database(join(dataDir, 'events.db'));
  const changes = db.prepare(statement).run(...params).changes;
  db.close();
  return changes;
}

/** The pack an evidence page embeds (its JSON block), as verify-evidence reads it. */
export function embeddedPack(page: string): SignedEvidencePack {
  return JSON.parse(
    /<script type="application\/json" id="reglament-evidence">([\s\S]*?)<\/script>/.exec(page)![1]!,
  ) as SignedEvidencePack;
}

/** Writes a file an auditor would be handed (a pack, a keys file) into `dir`; its path. */
export function fileIn(dir: string, name: string, text: string): string {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}
