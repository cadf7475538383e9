/**
 * Bearer-token verification with jose: HS256 with a shared secret (the embedded default), or a
 * JWKS (an identity provider in production). Turns every failure into a reason a client can act on.
 */
import { LRUCache } from 'lru-cache';
import { createSecretKey, randomBytes, type KeyObject } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createRemoteJWKSet, errors, jwtVerify, SignJWT, type JWTVerifyGetKey } from 'jose';
import { principalFromClaims, type Principal } from './domain/principal';

export class AuthenticationError extends Error {
  constructor(readonly reason: string) {
    super(reason);
    this.name = 'AuthenticationError';
  }
}

export class AuthConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AuthConfigError';
  }
}

export interface AuthOptions {
  secret?: string;
  jwksUrl?: string;
  /** The "iss" and "aud" every token must carry; with HS256 both default to LOCAL_TOKEN_ISSUER / LOCAL_TOKEN_AUDIENCE. */
  issuer?: string;
  audience?: string;
  /** A token is refused this long after its "iat", and one issued to live longer is refused at once. Default 12 h. */
  maxTokenAgeSeconds?: number;
  /** Where a generated secret is kept when neither a secret nor a JWKS is configured. */
  dataDir: string;
}

/** What locally signed (HS256) tokens name as issuer and audience unless configured otherwise; mint-token writes them. */
export const LOCAL_TOKEN_ISSUER = 'reglament';
export const LOCAL_TOKEN_AUDIENCE = 'reglament';
export const DEFAULT_MAX_TOKEN_AGE_SECONDS = 12 * 3600;

export interface SigningSecret {
  secret: Uint8Array;
  /** Set when the secret was read from or written to the data directory. */
  file?: string;
  generatedNow: boolean;
}

export const MIN_SECRET_BYTES = 32;
export const SECRET_FILE = 'auth-secret';

/** The configured secret, or the one kept in DATA_DIR/auth-secret (created, mode 0600, on first start). */
export function resolveSigningSecret(options: Pick<AuthOptions, 'secret' | 'dataDir'>): SigningSecret {
  if (options.secret !== undefined) {
    const bytes = new TextEncoder().encode(options.secret);
    if (bytes.length < MIN_SECRET_BYTES)
      throw new AuthConfigError(
        `AUTH_JWT_SECRET must be at least ${MIN_SECRET_BYTES} bytes for HS256, it has ${bytes.length}`,
      );
    return { secret: bytes, generatedNow: false };
  }
  const file = join(options.dataDir, SECRET_FILE);
  if (existsSync(file)) {
    const text = readFileSync(file, 'utf8').trim();
    if (Buffer.byteLength(text) < MIN_SECRET_BYTES)
      throw new AuthConfigError(
        `${file} holds a secret shorter than ${MIN_SECRET_BYTES} bytes; delete it to generate a new one`,
      );
    return { secret: new TextEncoder().encode(text), file, generatedNow: false };
  }
  const text = randomBytes(48).toString('base64url');
  writeFileSync(file, `${text}\n`, { mode: 0o600, flag: 'wx' });
  chmodSync(file, 0o600);
  return { secret: new TextEncoder().encode(text), file, generatedNow: true };
}

export interface TokenVerifier {
  readonly mode: 'hs256' | 'jwks';
  readonly signing?: SigningSecret;
  verify(token: string): Promise<Principal>;
  /**
   * The principal of `token` when this verifier verified that exact token before and it is still within its times
   * ("exp", "nbf", the maximum age), checked now; null when it must be verified (`verify` then says why if it fails).
   */
  verifyKnown?(token: string): Principal | null;
}

export function createTokenVerifier(options: AuthOptions): TokenVerifier {
  const maxAge = options.maxTokenAgeSeconds ?? DEFAULT_MAX_TOKEN_AGE_SECONDS;
  // Without an issuer and audience a token minted for any other service that shares the secret or the provider passes.
  const issuer = options.issuer ?? (options.jwksUrl ? undefined : LOCAL_TOKEN_ISSUER);
  const audience = options.audience ?? (options.jwksUrl ? undefined : LOCAL_TOKEN_AUDIENCE);
  const checks = {
    ...(issuer ? { issuer } : {}),
    ...(audience ? { audience } : {}),
    maxTokenAge: maxAge,
    requiredClaims: ['exp', 'sub', 'iat'],
  };
  let key: KeyObject | JWTVerifyGetKey;
  let signing: SigningSecret | undefined;
  let mode: TokenVerifier['mode'];
  if (options.jwksUrl) {
    key = createRemoteJWKSet(new URL(options.jwksUrl));
    mode = 'jwks';
  } else {
    signing = resolveSigningSecret(options);
    // Imported once: handing jose the raw bytes would import the key again on every request.
    key = createSecretKey(signing.secret);
    mode = 'hs256';
  }
  const verified = new VerifiedTokens();
  return {
    mode,
    signing,
    verifyKnown: (token) => verified.get(token),
    async verify(token) {
      const known = verified.get(token);
      if (known) return known;
      let payload: Record<string, unknown>;
      try {
        const result =
          mode === 'hs256'
            ? await jwtVerify(token, key as KeyObject, { ...checks, algorithms: ['HS256'] })
            : await jwtVerify(token, key as JWTVerifyGetKey, {
                ...checks,
                algorithms: ['RS256', 'PS256', 'ES256', 'EdDSA'],
              });
        payload = result.payload as Record<string, unknown>;
      } catch (error) {
        throw new AuthenticationError(describeJoseError(error));
      }
      const issuedAt = Number(payload.iat);
      if (Number(payload.exp) - issuedAt > maxAge) {
        throw new AuthenticationError(
          `claim "exp" is not valid: the token is valid for longer than the ${describeSeconds(maxAge)} a token may live after it is issued`,
        );
      }
      const principal = principalFromClaims(payload);
      if (!principal.ok) throw new AuthenticationError(principal.problem);
      verified.set(
        token,
        principal.principal,
        Math.min(Number(payload.exp), issuedAt + maxAge) * 1000,
        typeof payload.nbf === 'number' ? payload.nbf * 1000 : 0,
      );
      return principal.principal;
    },
  };
}

/**
 * Tokens already verified, until they expire: a client sends the same token with every request, and checking
 * its signature and claims again each time is most of the cost of a small request. Bounded; oldest out first.
 */
class VerifiedTokens {
  private readonly entries: LRUCache<string, { principal: Principal; expiresAt: number; notBefore: number }>;

  constructor(capacity = 10_000) {
    this.entries = new LRUCache({ max: capacity });
  }

  get(token: string): Principal | null {
    // Looked at without counting as a use: the first verified leaves first, as before a token is verified again.
    const entry = this.entries.peek(token);
    if (!entry) return null;
    const now = Date.now();
    if (now >= entry.expiresAt || now < entry.notBefore) {
      // Verified again, so the client hears why (expired) exactly as the first time.
      this.entries.delete(token);
      return null;
    }
    return entry.principal;
  }

  set(token: string, principal: Principal, expiresAt: number, notBefore: number): void {
    this.entries.set(token, { principal, expiresAt, notBefore });
  }
}

const describeSeconds = (seconds: number) =>
  seconds % 3600 === 0 ? `${seconds / 3600} h` : seconds % 60 === 0 ? `${seconds / 60} min` : `${seconds} s`;

function describeJoseError(error: unknown): string {
  if (error instanceof errors.JWTExpired && error.claim === 'iat')
    return 'the token was issued longer ago than tokens are accepted (AUTH_MAX_TOKEN_AGE)';
  if (error instanceof errors.JWTExpired) return 'the token has expired';
  if (error instanceof errors.JWSSignatureVerificationFailed) return 'the token signature is not valid';
  if (error instanceof errors.JWTClaimValidationFailed)
    return `claim "${error.claim}" is not valid: ${error.reason === 'check_failed' ? error.message : error.reason}`;
  if (error instanceof errors.JWSInvalid || error instanceof errors.JWTInvalid) return 'the token is malformed';
  if (error instanceof errors.JOSEAlgNotAllowed) return 'the token is signed with an algorithm that is not accepted';
  if (error instanceof errors.JWKSNoMatchingKey) return 'no key of the identity provider matches the token';
  if (error instanceof errors.JOSEError) return `the token is not valid (${error.code})`;
  return 'the token could not be verified';
}

export interface TokenClaims {
  sub: string;
  name: string;
  roles: string[];
  /** Staff only; a citizen's token carries none. */
  unit?: string;
  iin?: string;
}

/** Signs an HS256 token for local use (the mint-token command and tests). */
export async function mintToken(
  secret: Uint8Array,
  claims: TokenClaims,
  ttl: string | number = '8h',
  options: { issuer?: string; audience?: string } = {},
): Promise<string> {
  options = { issuer: options.issuer ?? LOCAL_TOKEN_ISSUER, audience: options.audience ?? LOCAL_TOKEN_AUDIENCE };
  let jwt = new SignJWT({
    name: claims.name,
    roles: claims.roles,
    ...(claims.unit !== undefined ? { unit: claims.unit } : {}),
    ...(claims.iin ? { iin: claims.iin } : {}),
  })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(claims.sub)
    .setIssuedAt()
    .setExpirationTime(ttl);
  if (options.issuer) jwt = jwt.setIssuer(options.issuer);
  if (options.audience) jwt = jwt.setAudience(options.audience);
  return jwt.sign(secret);
}
