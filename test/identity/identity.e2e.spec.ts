import { Body, Controller, Get, Module, Post } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import Fastify from 'fastify';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { ProblemFilter } from '../../src/app/problem/problem.filter';
import type { Principal } from '../../src/modules/identity/domain/principal';
import { iinCheckDigit } from '../../src/modules/identity/domain/iin';
import { createTokenVerifier, mintToken, type TokenVerifier } from '../../src/modules/identity/token-verifier';
import { run as mintTokenCommand } from '../../src/modules/identity/mint-token.cli';
import {
  assertCanWrite,
  assertUnit,
  CurrentPrincipal,
  Public,
  RequireRoles,
} from '../../src/modules/identity/http/identity.decorators';
import { IdentityModule } from '../../src/modules/identity/http/identity.module';

@Controller('api/test')
class ProbeController {
  @Get('me')
  me(@CurrentPrincipal() principal: Principal) {
    return principal;
  }

  @Post('register')
  @RequireRoles('registry-clerk')
  register(@CurrentPrincipal() principal: Principal, @Body() body: { unit: string }) {
    assertCanWrite(principal);
    assertUnit(principal, body.unit);
    return { ok: true };
  }

  @Get('open')
  @Public()
  open() {
    return { open: true };
  }
}

async function serve(verifier: TokenVerifier): Promise<{ app: NestFastifyApplication; url: string }> {
  @Module({ imports: [IdentityModule.register(verifier)], controllers: [ProbeController] })
  class ProbeModule {}
  const app = await NestFactory.create<NestFastifyApplication>(ProbeModule, new FastifyAdapter(), { logger: false });
  app.useGlobalFilters(new ProblemFilter());
  await app.listen(0, '127.0.0.1');
  return { app, url: await app.getUrl() };
}
const iin = (() => {
  const first11 = '90050240017';
  return `${first11}${iinCheckDigit(first11)}`;
})();

describe('authentication and authorisation on a real server (HS256, generated secret)', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'identity-'));
  const verifier = createTokenVerifier({ dataDir });
  const secret = verifier.signing!.secret;
  let server: { app: NestFastifyApplication; url: string };
  const call = async (path: string, token?: string, body?: unknown) => {
    const response = await fetch(`${server.url}${path}`, {
      method: body ? 'POST' : 'GET',
      headers: {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(body ? { 'content-type': 'application/json' } : {}),
      },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    return { status: response.status, headers: response.headers, body: (await response.json()) as any };
  };
  const clerk = { sub: 'clerk-1', name: 'Айгерим', roles: ['registry-clerk'], unit: 'astana' };

  beforeAll(async () => {
    server = await serve(verifier);
  });
  afterAll(async () => {
    await server.app.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('keeps the generated secret in the data directory, readable by the owner only', () => {
    expect(verifier.signing!.generatedNow).toBe(true);
    expect(statSync(join(dataDir, 'auth-secret')).mode & 0o777).toBe(0o600);
    expect(createTokenVerifier({ dataDir }).signing!.generatedNow).toBe(false);
  });

  it('a good token gives the principal', async () => {
    const { status, body } = await call('/api/test/me', await mintToken(secret, clerk));
    expect(status).toBe(200);
    expect(body).toEqual({ id: 'clerk-1', name: 'Айгерим', roles: ['registry-clerk'], unit: 'astana' });
  });

  it.each<[string, () => Promise<string | undefined>, RegExp]>([
    ['no token', async () => undefined, /no Authorization header/],
    [
      'bad signature',
      async () => mintToken(new TextEncoder().encode('another-secret-of-at-least-32-bytes!!'), clerk),
      /signature is not valid/,
    ],
    [
      'expired',
      async () =>
        new SignJWT({ name: 'x', roles: ['employee'], unit: 'astana' })
          .setProtectedHeader({ alg: 'HS256' })
          .setSubject('e')
          .setIssuer('reglament')
          .setAudience('reglament')
          .setIssuedAt(Math.floor(Date.now() / 1000) - 120)
          .setExpirationTime(Math.floor(Date.now() / 1000) - 60)
          .sign(secret),
      /expired/,
    ],
    ['unknown role', async () => mintToken(secret, { ...clerk, roles: ['janitor'] }), /unknown role\(s\) "janitor"/],
    [
      'applicant without IIN',
      async () => mintToken(secret, { ...clerk, roles: ['applicant'] }),
      /"iin" is required for the applicant role/,
    ],
    [
      'applicant with a bad IIN',
      async () => mintToken(secret, { ...clerk, roles: ['applicant'], iin: '123456789012' }),
      /not a valid IIN/,
    ],
    [
      'staff without a unit',
      async () =>
        new SignJWT({ name: 'x', roles: ['registry-clerk'] })
          .setProtectedHeader({ alg: 'HS256' })
          .setSubject('c')
          .setIssuer('reglament')
          .setAudience('reglament')
          .setIssuedAt()
          .setExpirationTime('5m')
          .sign(secret),
      /"unit" is missing: roles other than applicant \(registry-clerk\) act for a unit/,
    ],
    [
      'an applicant who is also staff, without a unit',
      async () =>
        new SignJWT({ name: 'x', roles: ['applicant', 'head'], iin })
          .setProtectedHeader({ alg: 'HS256' })
          .setSubject('c')
          .setIssuer('reglament')
          .setAudience('reglament')
          .setIssuedAt()
          .setExpirationTime('5m')
          .sign(secret),
      /"unit" is missing: roles other than applicant \(head\)/,
    ],
    ['an empty unit', async () => mintToken(secret, { ...clerk, unit: '' }), /"unit" must be a non-empty string/],
    ['malformed', async () => 'not.a.token', /malformed/],
  ])('%s → 401 problem+json saying why', async (_name, token, detail) => {
    const { status, headers, body } = await call('/api/test/me', await token());
    expect(status).toBe(401);
    expect(headers.get('content-type')).toContain('application/problem+json');
    expect(headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect(body.detail).toMatch(detail);
  });

  it('200: a citizen’s token from the e-government identity provider (sub, name, iin, roles; no unit) gives a principal without a unit', async () => {
    const egov = await new SignJWT({ name: 'Сәрсенова Әлия', iin, roles: ['applicant'] })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('egov-citizen-1')
      .setIssuer('reglament')
      .setAudience('reglament')
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(secret);
    const { status, body } = await call('/api/test/me', egov);
    expect(status).toBe(200);
    expect(body).toEqual({ id: 'egov-citizen-1', name: 'Сәрсенова Әлия', roles: ['applicant'], iin });
  });

  it('an applicant with a valid IIN is accepted', async () => {
    const { status, body } = await call(
      '/api/test/me',
      await mintToken(secret, { ...clerk, roles: ['applicant'], iin }),
    );
    expect(status).toBe(200);
    expect(body.iin).toBe(iin);
  });

  it('a missing role, another unit and an auditor writing get 403 naming what is missing', async () => {
    const head = await call('/api/test/register', await mintToken(secret, { ...clerk, roles: ['head'] }), {
      unit: 'astana',
    });
    expect(head.status).toBe(403);
    expect(head.body).toMatchObject({ requiredRoles: ['registry-clerk'], callerRoles: ['head'] });
    const otherUnit = await call('/api/test/register', await mintToken(secret, clerk), { unit: 'almaty' });
    expect(otherUnit.status).toBe(403);
    expect(otherUnit.body).toMatchObject({ requiredUnit: 'almaty', callerUnit: 'astana' });
    const auditor = await call('/api/test/register', await mintToken(secret, { ...clerk, roles: ['auditor'] }), {
      unit: 'astana',
    });
    expect(auditor.status).toBe(403);
    const ok = await call('/api/test/register', await mintToken(secret, clerk), { unit: 'astana' });
    expect(ok.status).toBe(201);
  });

  it('a @Public() route needs no token', async () => {
    expect((await call('/api/test/open')).status).toBe(200);
  });

  // A mistyped --data-dir became a new installation: a new secret, and a token signed with it that no service takes.
  it('mint-token on a directory no service made a secret in refuses (exit 66) and creates nothing there', async () => {
    const stderr = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      const typo = join(dataDir, 'no-such-dir');
      expect(
        await mintTokenCommand([
          '--sub',
          'u1',
          '--name',
          'Ерлан',
          '--roles',
          'registry-clerk',
          '--unit',
          'astana',
          '--data-dir',
          typo,
        ]),
      ).toBe(66);
      expect(existsSync(typo)).toBe(false);
      expect(String(stderr.mock.calls.at(-1)?.[0])).toMatch(/is --data-dir right\?/);
    } finally {
      stderr.mockRestore();
    }
  });

  it('the mint-token command signs with the data directory secret, and refuses bad arguments', async () => {
    const written: string[] = [];
    const stdout = jest
      .spyOn(process.stdout, 'write')
      .mockImplementation((chunk: any) => (written.push(String(chunk)), true));
    const stderr = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      expect(
        await mintTokenCommand([
          '--sub',
          'u1',
          '--name',
          'Ерлан',
          '--roles',
          'registry-clerk',
          '--unit',
          'astana',
          '--data-dir',
          dataDir,
        ]),
      ).toBe(0);
      expect(
        await mintTokenCommand([
          '--sub',
          'u1',
          '--name',
          'Ерлан',
          '--roles',
          'janitor',
          '--unit',
          'astana',
          '--data-dir',
          dataDir,
        ]),
      ).toBe(2);
      expect(await mintTokenCommand(['--bogus'])).toBe(2);
      // A citizen's token carries no unit; staff need one.
      expect(
        await mintTokenCommand([
          '--sub',
          'c1',
          '--name',
          'Әлия',
          '--roles',
          'applicant',
          '--iin',
          iin,
          '--data-dir',
          dataDir,
        ]),
      ).toBe(0);
      expect(
        await mintTokenCommand(['--sub', 'u2', '--name', 'Ерлан', '--roles', 'registry-clerk', '--data-dir', dataDir]),
      ).toBe(2);
    } finally {
      stdout.mockRestore();
      stderr.mockRestore();
    }
    const { status, body } = await call('/api/test/me', written[0].trim());
    expect(status).toBe(200);
    expect(body.name).toBe('Ерлан');
    const citizen = await call('/api/test/me', written[1].trim());
    expect(citizen.body).toEqual({ id: 'c1', name: 'Әлия', roles: ['applicant'], iin });
  });

  it('refuses a configured secret shorter than 32 bytes', () => {
    expect(() => createTokenVerifier({ dataDir, secret: 'short' })).toThrow(/at least 32 bytes/);
  });
});

describe('tokens from an identity provider (JWKS)', () => {
  it('verifies RS256 tokens against a JWKS served over HTTP, and refuses others', async () => {
    const { publicKey, privateKey } = await generateKeyPair('RS256');
    const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
    const idp = Fastify();
    idp.get('/jwks', async () => ({ keys: [jwk] }));
    await idp.listen({ port: 0, host: '127.0.0.1' });
    const address = idp.server.address() as { port: number };
    const verifier = createTokenVerifier({
      dataDir: tmpdir(),
      jwksUrl: `http://127.0.0.1:${address.port}/jwks`,
      issuer: 'https://idp.example',
      audience: 'reglament',
    });
    try {
      const sign = (key: Parameters<SignJWT['sign']>[0], claims: Record<string, unknown> = {}) =>
        new SignJWT({ name: 'Сотрудник', roles: ['employee'], unit: 'astana', ...claims })
          .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
          .setSubject('emp-1')
          .setIssuer('https://idp.example')
          .setAudience('reglament')
          .setIssuedAt()
          .setExpirationTime('5m')
          .sign(key);
      await expect(verifier.verify(await sign(privateKey))).resolves.toMatchObject({
        id: 'emp-1',
        roles: ['employee'],
      });
      // A citizen as the e-government identity provider signs them in: sub, name, iin, roles; no unit.
      const citizen = await new SignJWT({ name: 'Сәрсенова Әлия', iin, roles: ['applicant'] })
        .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
        .setSubject('egov-7')
        .setIssuer('https://idp.example')
        .setAudience('reglament')
        .setIssuedAt()
        .setExpirationTime('5m')
        .sign(privateKey);
      await expect(verifier.verify(citizen)).resolves.toEqual({
        id: 'egov-7',
        name: 'Сәрсенова Әлия',
        roles: ['applicant'],
        iin,
      });
      await expect(verifier.verify(await sign(privateKey, { unit: undefined }))).rejects.toThrow(
        /claim "unit" is missing/,
      );
      const other = await generateKeyPair('RS256');
      await expect(verifier.verify(await sign(other.privateKey))).rejects.toThrow(/signature is not valid/);
      const wrongAudience = await new SignJWT({ name: 'x', roles: ['employee'], unit: 'astana' })
        .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
        .setSubject('e')
        .setIssuer('https://idp.example')
        .setAudience('other')
        .setIssuedAt()
        .setExpirationTime('5m')
        .sign(privateKey);
      await expect(verifier.verify(wrongAudience)).rejects.toThrow(/claim "aud"/);
      expect(verifier.signing).toBeUndefined();
    } finally {
      await idp.close();
    }
  });
});
