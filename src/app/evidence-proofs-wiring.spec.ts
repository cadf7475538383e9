import type { TransparencyLog } from '../modules/transparency/transparency-log';
import { RemoteEvidenceProofs } from '../modules/transparency/evidence-proofs';
import { evidenceProofsFor } from './infrastructure';

/** Where a process's evidence packs get their proofs, by the shape it runs in. */
describe('evidenceProofsFor', () => {
  const warnings: unknown[][] = [];
  const logger = { warn: (...args: unknown[]) => void warnings.push(args) };
  beforeEach(() => (warnings.length = 0));

  it('a process that keeps the tree (the embedded API, the worker beside EventStoreDB) proves from it', async () => {
    const tree = { evidenceInclusion: () => ({ ok: true, checkpoint: 'note', events: [] }) };
    const proofs = evidenceProofsFor(tree as unknown as TransparencyLog, { transparency: {} as never }, logger);
    await expect(proofs!.evidenceInclusion([], {})).resolves.toEqual({ checkpoint: 'note', events: [] });
    expect(warnings).toEqual([]);
  });

  it('an API instance beside EventStoreDB asks the worker TRANSPARENCY_WORKER_URL names', () => {
    const proofs = evidenceProofsFor(null, { transparency: { workerUrl: 'http://worker:3100' } as never }, logger);
    expect(proofs).toBeInstanceOf(RemoteEvidenceProofs);
    expect(warnings).toEqual([]);
  });

  it('with neither, packs carry no proofs, and the start says so once', () => {
    expect(evidenceProofsFor(null, { transparency: {} as never }, logger)).toBeNull();
    expect(warnings).toHaveLength(1);
    expect(String(warnings[0]![1])).toContain('TRANSPARENCY_WORKER_URL');
  });
});
