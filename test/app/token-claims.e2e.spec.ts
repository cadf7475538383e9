/**
 * HS256 tokens name their issuer and audience and live at most AUTH_MAX_TOKEN_AGE (issue 14.14: a token with
 * `exp` = 1e20 and no issuer or audience was accepted), on the real server; the real mint-token CLI writes
 * tokens it accepts, so the quick start still works.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import { ConfigError, loadConfig } from '../../src/shared/config/config';
import { startHarness, type ApiHarness } from '../support/api-harness';

const ROOT = join(__dirname, '../..');
const clerkClaims = { name: 'Айгерим', roles: ['registry-clerk'], unit: 'astana' };

function mintTokenCli(dataDir: string, args: string[], env: Record<string, string> = {}) {
  const run = spawnSync(
    process.execPath,
    [
      '-r',
      join(ROOT, 'test/support/swc-register.js'),
      join(ROOT, 'src/cli/main.ts'),
      'mint-token',
      '--data-dir',
      dataDir,
      '--sub',
      'clerk-1',
      '--name',
      'Айгерим',
      '--roles',
      'registry-clerk',
      '--unit',
      'astana',
      ...args,
    ],
    {
      env: { PATH: process.env.PATH ?? '', ...env },
      encoding: 'utf8',
    },
  );
  return { code: run.status, token: run.stdout.trim(), stderr: run.stderr };
}

describe('the default: issuer and audience "reglament", tokens live at most 12 h', () => {
  let api: ApiHarness;
  let secret: Uint8Array;
  beforeAll(async () => {
    api = await startHarness();
    secret = api.app.infra.identity.signing!.secret;
  }, 60_000);
  afterAll(async () => api.close());

  const now = () => Math.floor(Date.now() / 1000);
  const sign = (claims: { iss?: string; aud?: string; iat?: number; exp?: number }) => {
    let jwt = new SignJWT(clerkClaims).setProtectedHeader({ alg: 'HS256' }).setSubject('clerk-1');
    if (claims.iss !== undefined) jwt = jwt.setIssuer(claims.iss);
    if (claims.aud !== undefined) jwt = jwt.setAudience(claims.aud);
    if (claims.iat !== undefined) jwt = jwt.setIssuedAt(claims.iat);
    if (claims.exp !== undefined) jwt = jwt.setExpirationTime(claims.exp);
    return jwt.sign(secret);
  };
  const good = () => ({ iss: 'reglament', aud: 'reglament', iat: now(), exp: now() + 3600 });

  it('200 for a token with the issuer, the audience, iat and an exp within 12 h', async () => {
    expect((await api.call('GET', '/api/worklist', { as: await sign(good()) })).status).toBe(200);
  });

  it.each([
    ['exp = 1e20', { exp: 1e20 }, /valid for longer than the 12 h/],
    ['exp 13 h after iat', { exp: now() + 13 * 3600 }, /valid for longer than the 12 h/],
    ['issued 13 h ago', { iat: now() - 13 * 3600, exp: now() - 3600 + 3600 * 2 }, /issued longer ago|valid for longer/],
    ['no iat', { iat: undefined }, /claim "iat"/],
    ['no issuer', { iss: undefined }, /claim "iss"/],
    ['another issuer', { iss: 'someone-else' }, /claim "iss"/],
    ['no audience', { aud: undefined }, /claim "aud"/],
    ['another audience', { aud: 'another-service' }, /claim "aud"/],
  ])('401 for a correctly signed token with %s', async (_, change, reason) => {
    const r = await api.call('GET', '/api/worklist', { as: await sign({ ...good(), ...change }) });
    expect(r.status).toBe(401);
    expect(r.body.detail).toMatch(reason);
  });

  it('401 for a token issued 12 h and a minute ago, even with exp within 12 h of iat and still ahead', async () => {
    const iat = now() - 12 * 3600 - 60;
    const r = await api.call('GET', '/api/worklist', { as: await sign({ ...good(), iat, exp: iat + 12 * 3600 }) });
    expect(r.status).toBe(401);
  });

  it('the mint-token CLI writes a token the server accepts (the quick start)', async () => {
    const minted = mintTokenCli(api.dataDir, []);
    expect(minted).toMatchObject({ code: 0 });
    const r = await api.call('GET', '/api/worklist', { as: minted.token });
    expect(r.status).toBe(200);
  }, 30_000);
});

describe('configured: AUTH_ISSUER, AUTH_AUDIENCE, AUTH_MAX_TOKEN_AGE', () => {
  const env = {
    AUTH_ISSUER: 'https://ministry.example/reglament',
    AUTH_AUDIENCE: 'reglament-api',
    AUTH_MAX_TOKEN_AGE: '1h',
  };
  let api: ApiHarness;
  beforeAll(async () => {
    api = await startHarness(env);
  }, 60_000);
  afterAll(async () => api.close());

  it('the mint-token CLI follows them: its token is accepted, a --ttl over the maximum age is refused', async () => {
    const minted = mintTokenCli(api.dataDir, [], env);
    expect(minted).toMatchObject({ code: 0 });
    expect((await api.call('GET', '/api/worklist', { as: minted.token })).status).toBe(200);
    const tooLong = mintTokenCli(api.dataDir, ['--ttl', '2h'], env);
    expect(tooLong.code).toBe(2);
    expect(tooLong.stderr).toMatch(/AUTH_MAX_TOKEN_AGE/);
  }, 30_000);

  it('401 for a token minted for the default issuer and audience', async () => {
    const other = mintTokenCli(api.dataDir, []);
    expect(other.code).toBe(0);
    const r = await api.call('GET', '/api/worklist', { as: other.token });
    expect(r.status).toBe(401);
    expect(r.body.detail).toMatch(/claim "iss"/);
  }, 30_000);
});

describe('configuration', () => {
  const problems = (env: Record<string, string>) => {
    try {
      loadConfig(env);
      return [];
    } catch (error) {
      return (error as ConfigError).problems.map((p) => p.variable);
    }
  };

  it.each(['0', '12', '30s', '8d', 'forever'])('refuses AUTH_MAX_TOKEN_AGE=%s', (value) => {
    expect(problems({ AUTH_MAX_TOKEN_AGE: value })).toEqual(['AUTH_MAX_TOKEN_AGE']);
  });

  it('requires AUTH_ISSUER and AUTH_AUDIENCE with AUTH_JWKS_URL', () => {
    expect(problems({ AUTH_JWKS_URL: 'https://idp.example/jwks' })).toEqual(['AUTH_ISSUER', 'AUTH_AUDIENCE']);
    expect(
      problems({
        AUTH_JWKS_URL: 'https://idp.example/jwks',
        AUTH_ISSUER: 'https://idp.example',
        AUTH_AUDIENCE: 'reglament',
      }),
    ).toEqual([]);
  });
});
