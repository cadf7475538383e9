/**
 * `npm run cli -- mint-token --sub u1 --name "Айгерим" --roles registry-clerk,head --unit astana
 *   [--iin 880101300123] [--ttl 8h] [--data-dir ./var/data]`
 * prints a bearer token signed with AUTH_JWT_SECRET, or with the secret the service keeps in DATA_DIR.
 */
import { commandArgs, configWithDataDir, usageError } from '../../shared/cli/cli-command';
import { durationSeconds, sharedDeployment } from '../../shared/config/config';
import { ensureDataDir } from '../../shared/data-dir';
import { principalFromClaims } from './domain/principal';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { EVENT_LOG_FILE } from '../event-log/open-event-log';
import { AuthConfigError, mintToken, resolveSigningSecret, SECRET_FILE } from './token-verifier';

const USAGE = `usage: npm run cli -- mint-token --sub <id> --name <name> --roles <role,role> [--unit <unit>] [--iin <IIN>] [--ttl 8h] [--data-dir <dir>]

Prints a bearer token for local use, signed with AUTH_JWT_SECRET or with the secret the service keeps in DATA_DIR
(generated there on the embedded default), with the issuer and audience the service expects.`;

export async function run(argv: string[]): Promise<number> {
  const args = commandArgs('mint-token', USAGE, argv, {
    options: {
      sub: { type: 'string' },
      name: { type: 'string' },
      roles: { type: 'string' },
      unit: { type: 'string' },
      iin: { type: 'string' },
      ttl: { type: 'string' },
      'data-dir': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (typeof args === 'number') return args;
  const values = args.values;
  const claims = {
    sub: values.sub ?? '',
    name: values.name ?? '',
    roles: (values.roles ?? '').split(',').filter(Boolean),
    ...(values.unit !== undefined ? { unit: values.unit } : {}),
    ...(values.iin ? { iin: values.iin } : {}),
  };
  const check = principalFromClaims(claims);
  if (!check.ok) return usageError('mint-token', USAGE, check.problem.replace('claim "', '--').replace('" ', ' '));
  const config = configWithDataDir(values['data-dir']);
  if (config === 78) return config;
  const maxAge = config.auth.maxTokenAgeSeconds;
  const ttl = values.ttl ?? (maxAge >= 8 * 3600 ? '8h' : `${maxAge}s`);
  const ttlSeconds = durationSeconds(ttl);
  if (ttlSeconds === null) {
    process.stderr.write(
      `mint-token: --ttl must be a number with s, m, h or d (e.g. 8h), got ${JSON.stringify(ttl)}\n`,
    );
    return 2;
  }
  if (ttlSeconds > maxAge) {
    process.stderr.write(
      `mint-token: --ttl ${ttl} is longer than AUTH_MAX_TOKEN_AGE (${maxAge} s): the service would refuse the token\n`,
    );
    return 2;
  }
  if (config.auth.jwksUrl) {
    process.stderr.write(
      'mint-token: AUTH_JWKS_URL is set, so tokens come from the identity provider, not from this command\n',
    );
    return 2;
  }
  const shared = sharedDeployment(config);
  if (shared !== null && !config.auth.secret) {
    // The service there never reads a secret from DATA_DIR, so one generated there would only leave a secret behind.
    process.stderr.write(
      `mint-token: AUTH_JWT_SECRET is required outside the embedded single-user default (${shared})\n`,
    );
    return 78;
  }
  // A directory with neither a token secret nor an event log is no installation (a mistyped --data-dir): a secret made
  // there would sign a token no service takes, and leave a made-up installation behind.
  if (
    !config.auth.secret &&
    !existsSync(join(config.dataDir, SECRET_FILE)) &&
    !existsSync(join(config.dataDir, EVENT_LOG_FILE))
  ) {
    process.stderr.write(
      `mint-token: ${config.dataDir} holds neither a token secret nor an event log (is --data-dir right?); a token signed with a secret made up there would be taken by no service\n`,
    );
    return 66;
  }
  try {
    ensureDataDir(config.dataDir);
    const signing = resolveSigningSecret({ secret: config.auth.secret, dataDir: config.dataDir });
    process.stdout.write(
      `${await mintToken(signing.secret, claims, ttl, { issuer: config.auth.issuer, audience: config.auth.audience })}\n`,
    );
    return 0;
  } catch (error) {
    if (error instanceof AuthConfigError) {
      process.stderr.write(`mint-token: ${error.message}\n`);
      return 2;
    }
    throw error;
  }
}

/** What the API prints when it generated a signing secret on a fresh data directory. */
export function startupHint(url: string, dataDir: string): string {
  return [
    `No AUTH_JWT_SECRET or AUTH_JWKS_URL is set: tokens are signed with the secret kept in ${dataDir}/auth-secret.`,
    'Mint one for local use and call the API with it:',
    `  TOKEN=$(npm run --silent cli -- mint-token --data-dir ${dataDir} --sub clerk-1 --name "Айгерим" --roles registry-clerk --unit astana)`,
    `  curl -H "Authorization: Bearer $TOKEN" ${url}/api/regulations`,
  ].join('\n');
}
