import type { TransparencyLog } from '../modules/transparency/transparency-log';
import { RemoteEvidenceProofs } from '../modules/transparency/evidence-proofs';
import { evidenceProofsFor } from './infrastructure';

/** Where a process's evidence packs get their proofs, by the shape it runs in. */
describe('evidenceProofsFor', () => {
  const keys = { keys: [] };
  const logger = { warn: () => undefined };
  it('a process that keeps the tree (the embedded API, the worker beside EventStoreDB) proves from it', async () => {
    const tree = { evidenceInclusion: () => ({ ok: true, checkpoint: 'note', events: [] }) };
    const proofs = evidenceProofsFor(tree as unknown as TransparencyLog, { transparency: {} as never }, keys, logger);
    await expect(proofs!.evidenceInclusion('case', [], {})).resolves.toEqual({ checkpoint: 'note', events: [] });
  });

  it('an API instance beside EventStoreDB asks the worker TRANSPARENCY_WORKER_URL names', () => {
    const proofs = evidenceProofsFor(
      null,
      { transparency: { workerUrl: 'http://worker:3100' } as never },
      keys,
      logger,
    );
    expect(proofs).toBeInstanceOf(RemoteEvidenceProofs);
  });

  it('with neither, packs carry no proofs', () => {
    expect(evidenceProofsFor(null, { transparency: {} as never }, keys, logger)).toBeNull();
  });
});
