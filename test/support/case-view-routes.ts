import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileSampleCase, startHarness, type ApiHarness } from './api-harness';

/**
 * The same probes on GET /api/cases/:caseId answered directly and through Nest's pipeline: one sample case filed once
 * into a seed data directory, each route's server started on a copy of it (the same case, the same token secret), so
 * the two answers can be compared. Removes its directories when done.
 */
export async function onBothCaseViewRoutes<T>(
  env: Record<string, string>,
  clock: () => Date,
  probe: (api: ApiHarness, sample: { caseId: string; position: number }) => Promise<T>,
): Promise<{ direct: T; nest: T }> {
  const dirs: string[] = [];
  try {
    const seed = mkdtempSync(join(tmpdir(), 'reglament-view-route-'));
    dirs.push(seed);
    const seeding = await startHarness(env, { clock, dataDir: seed });
    const sample = await fileSampleCase(seeding);
    await seeding.app.infra.projections.readModels.waitFor('cases', sample.position, 10_000);
    await seeding.app.close();
    const results: Partial<Record<'direct' | 'nest', T>> = {};
    for (const route of ['direct', 'nest'] as const) {
      const dataDir = mkdtempSync(join(tmpdir(), `reglament-view-route-${route}-`));
      dirs.push(dataDir);
      cpSync(seed, dataDir, { recursive: true });
      const api = await startHarness(env, { clock, dataDir, caseViewRoute: route });
      try {
        results[route] = await probe(api, sample);
      } finally {
        await api.app.close();
      }
    }
    return results as { direct: T; nest: T };
  } finally {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  }
}
