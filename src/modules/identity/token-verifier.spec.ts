import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AuthenticationError, createTokenVerifier, mintToken } from './token-verifier';

describe('verified tokens are remembered only until they expire', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tokens-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('a token verified once is refused as expired once its exp has passed', async () => {
    const verifier = createTokenVerifier({ dataDir: dir });
    const token = await mintToken(
      verifier.signing!.secret,
      { sub: 'c-1', name: 'C', roles: ['registry-clerk'], unit: 'astana' },
      Math.floor(Date.now() / 1000) + 2,
    );
    expect((await verifier.verify(token)).id).toBe('c-1');
    expect((await verifier.verify(token)).id).toBe('c-1');
    await new Promise((r) => setTimeout(r, 2100));
    await expect(verifier.verify(token)).rejects.toThrow(new AuthenticationError('the token has expired'));
  });

  it('a token signed with another secret is refused, whatever was verified before', async () => {
    const verifier = createTokenVerifier({ dataDir: dir });
    const otherDir = mkdtempSync(join(tmpdir(), 'tokens-other-'));
    const other = createTokenVerifier({ dataDir: otherDir });
    const good = await mintToken(verifier.signing!.secret, { sub: 'c-1', name: 'C', roles: ['head'], unit: 'astana' });
    const forged = await mintToken(other.signing!.secret, { sub: 'c-1', name: 'C', roles: ['head'], unit: 'astana' });
    await verifier.verify(good);
    await expect(verifier.verify(forged)).rejects.toThrow('the token signature is not valid');
    rmSync(otherDir, { recursive: true, force: true });
  });
});
