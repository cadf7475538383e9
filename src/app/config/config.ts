import { realpathSync } from 'node:fs';
import { isAbsolute, relative, resolve } from 'node:path';
import { DEFAULT_WARNING_POLICY, type WarningPolicy } from '../../modules/deadline-alerts/domain/warning-instants';

/** The Nest token of the AppConfig (here, not in bootstrap, so controllers bootstrap loads can take it without a cycle). */
export const APP_CONFIG = Symbol('APP_CONFIG');

/** Runtime configuration, read once from the environment at start-up. */
export interface AppConfig {
  eventStore: { kind: 'sqlite'; dataDir: string } | { kind: 'eventstoredb'; url: string };
  readStore: { kind: 'sqlite'; dataDir: string } | { kind: 'mongodb'; url: string; database: string };
  dataDir: string;
  host: string;
  port: number;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** `inline`: this process also runs the projections (the embedded default); `off`: a separate worker does. */
  projections: 'inline' | 'off';
  workerPort: number | null;
  /**
   * Bearer tokens: an HS256 secret or an identity provider's JWKS; the issuer and audience every token must name
   * (with HS256 both default to `reglament`, what mint-token writes); the longest a token is accepted after it was issued.
   */
  auth: { secret?: string; jwksUrl?: string; issuer?: string; audience?: string; maxTokenAgeSeconds: number };
  /** The regulation catalog (one YAML file per version) and the working-day calendars. */
  regulationsDir: string;
  calendarsDir: string;
  /** An act recorded more than this many minutes after it occurred is flagged as back-dated. */
  backDatedAfterMinutes: number;
  /** How long a read with `?after=<position>` waits for its read model before answering 503. */
  readYourWritesTimeoutMs: number;
  /**
   * The nice value (0–19) of every thread of the projection process in inline mode, on Linux: when the machine is
   * saturated, read models fall behind (reads with `?after` wait for them) rather than acknowledging commands late.
   */
  projectionNice: number;
  /**
   * In inline mode, the share of the time (0.05–1) the projection process works while commands come in faster than
   * it can follow even at full speed (see WorkShare): the burst keeps the CPU and the read models follow behind it.
   * 1: no limit.
   */
  projectionShare: number;
  /** /health is degraded (503) while a projection is this many seconds behind the log (its oldest unprojected event). */
  projectionStaleSeconds: number;
  /** Most memory, in MiB, for case views kept rendered for callers who read them again; 0 keeps none. */
  caseViewCacheMb: number;
  /** Cases kept folded in memory for commands, least recently used dropped first; a command on one is decided without reading the log. */
  caseCacheSize: number;
  /** The Ed25519 key (PKCS#8 PEM) that signs evidence packs; default DATA_DIR/evidence-signing-key.pem, generated. */
  evidenceKeyFile?: string;
  /**
   * The personal-data master key that wraps every subject key: its text (64 hex digits or 32 bytes base64) or a file
   * holding it; default DATA_DIR/personal-data-master-key, generated (embedded default only).
   */
  personalData: { masterKey?: string; masterKeyFile?: string };
  /** Deadline warnings: the shares of a limit's time (percent) that warn, by default, per service and per version. */
  deadlineWarnings: WarningPolicy;
  /** Whether the process that runs the projections also runs the deadline scheduler. */
  deadlineScheduler: boolean;
  /** The longest the scheduler sleeps between looks at the log, in ms. */
  deadlinePollMs: number;
  /** ISO instant: deadline instants before it are never recorded (a first start over an old log). */
  deadlineRecordFrom?: string;
  /** Webhook delivery: whether the projections' process dispatches, and how. */
  webhooks: { dispatcher: boolean; allowPrivate: boolean; timeoutMs: number; maxAttempts: number; backoffMs: number };
  /** The verifiable log: its checkpoints' origin (also the signing key's name), how often it signs one, who may read the proofs, its keys. */
  transparency: {
    origin: string;
    checkpointIntervalMs: number;
    access: 'public' | 'auditor';
    /** A directory of Ed25519 keys (PKCS#8 PEM to sign, SPKI PEM for retired keys); the active one is `activeKey`. */
    keysDir?: string;
    activeKey?: string;
    /** Whether a signing key may be generated on first start: only the embedded single-machine shape, never in production. */
    mayGenerateKey: boolean;
    /** The runtime shape, named in the refusal to generate a key. */
    shape: string;
  };
  /** Per-caller limits (0: off): requests a minute, list lookups by applicant IIN a minute, filings an applicant makes a day. */
  limits: { requestsPerMinute: number; iinLookupsPerMinute: number; filingsPerDay: number; maxConnections: number; streamClients: number };
  /** How far in the future (by this server's clock) an act's occurredAt may lie: clients' clocks are never exact. */
  occurredAtToleranceMs: number;
  /**
   * Regulation versions whose file may differ from what stored cases were recorded under (a deliberate correction,
   * named by version id, or `*`); start-up otherwise refuses a change that breaks stored cases.
   */
  catalogChangeAllowed: string[];
  /** The embedded log's pages are checked (PRAGMA quick_check) on every start up to this size in MiB; 0: never on start. */
  startupCheckMaxMb: number;
  /** Origins whose browser pages may call the API (CORS); empty: none, the default. */
  corsOrigins: string[];
  /** NODE_ENV=production. */
  production: boolean;
}

/** The data shipped with the product: <repo>/data, found from this file in src/ or dist/. */
export const SHIPPED_DATA_DIR = resolve(__dirname, '../../../data');

export interface ConfigProblem {
  variable: string;
  value: string | undefined;
  problem: string;
  allowed: string;
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(readonly problems: ConfigProblem[]) {
    super(
      'invalid configuration:\n' +
        problems
          .map((p) => `  ${p.variable}=${p.value === undefined ? '(unset)' : JSON.stringify(p.value)}: ${p.problem}; allowed: ${p.allowed}`)
          .join('\n'),
    );
  }
}

/**
 * The schemes @eventstore/db-client 6.2.1's parseConnectionString accepts; it throws at the first connection on any
 * other (`kurrentdb://` included, which only the later @kurrent/kurrentdb-client reads).
 */
const ESDB_SCHEMES = ['esdb', 'esdb+discover'];

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

const DURATION_UNITS = { s: 1, m: 60, h: 3600, d: 86_400 } as const;

/** `30m`, `12h`, `1d` in seconds; null when the text is not such a duration. */
export function durationSeconds(text: string): number | null {
  const match = /^(\d{1,6})([smhd])$/.exec(text);
  return match ? Number(match[1]) * DURATION_UNITS[match[2] as keyof typeof DURATION_UNITS] : null;
}

export const DEFAULT_MAX_TOKEN_AGE = '12h';
const MAX_TOKEN_AGE_LIMIT_SECONDS = 7 * 86_400;

/** Pure: environment in, config or every problem found out (not just the first). */
export function loadConfig(env: Record<string, string | undefined>, cwd = process.cwd()): AppConfig {
  const problems: ConfigProblem[] = [];
  const oneOf = <T extends string>(variable: string, allowed: readonly T[], fallback: T): T => {
    const value = env[variable];
    if (value === undefined || value === '') return fallback;
    if ((allowed as readonly string[]).includes(value)) return value as T;
    problems.push({ variable, value, problem: 'unknown value', allowed: allowed.join(' | ') });
    return fallback;
  };
  const port = (variable: string, fallback: number | null): number | null => {
    const value = env[variable];
    if (value === undefined || value === '') return fallback;
    const n = Number(value);
    if (!/^\d+$/.test(value) || n > 65535) {
      problems.push({ variable, value, problem: 'not a TCP port', allowed: 'an integer 0–65535 (0 picks a free port)' });
      return fallback;
    }
    return n;
  };
  const url = (variable: string, schemes: string[], when: string): string => {
    const allowed = `a URL starting ${schemes.map((s) => `${s}://`).join(' or ')}`;
    const value = env[variable];
    if (value === undefined || value === '') {
      problems.push({ variable, value, problem: `required when ${when}`, allowed });
      return '';
    }
    // The scheme as the client parses it (up to the first ':'), so `esdb+discover://` is not taken for `esdb://`.
    const scheme = /^([^:]+):\/\//.exec(value.trim())?.[1];
    if (scheme === undefined || !schemes.includes(scheme)) {
      problems.push({ variable, value, problem: `the scheme ${scheme === undefined ? '(none)' : `${scheme}://`} is not one the client can parse`, allowed });
    }
    return value;
  };

  const rawDataDir = env.DATA_DIR && env.DATA_DIR !== '' ? env.DATA_DIR : './var/data';
  const dataDir = isAbsolute(rawDataDir) ? rawDataDir : resolve(cwd, rawDataDir);

  const eventStoreKind = oneOf('EVENT_STORE', ['sqlite', 'eventstoredb'] as const, 'sqlite');
  const readStoreKind = oneOf('READ_STORE', ['sqlite', 'mongodb'] as const, 'sqlite');
  const eventStore: AppConfig['eventStore'] =
    eventStoreKind === 'sqlite'
      ? { kind: 'sqlite', dataDir }
      : { kind: 'eventstoredb', url: url('EVENTSTORE_URL', ESDB_SCHEMES, 'EVENT_STORE=eventstoredb') };
  const readStore: AppConfig['readStore'] =
    readStoreKind === 'sqlite'
      ? { kind: 'sqlite', dataDir }
      : { kind: 'mongodb', url: url('MONGODB_URL', ['mongodb', 'mongodb+srv'], 'READ_STORE=mongodb'), database: env.MONGODB_DATABASE || 'reglament' };

  const dir = (variable: string, fallback: string) => {
    const value = env[variable];
    if (value === undefined || value === '') return fallback;
    return isAbsolute(value) ? value : resolve(cwd, value);
  };

  /** A whole number (the default) or a decimal one, from `min` to `max`. */
  const numberInRange = (variable: string, fallback: number, min: number, max: number, kind: 'integer' | 'decimal' = 'integer'): number => {
    const value = env[variable];
    if (value === undefined || value === '') return fallback;
    const pattern = kind === 'integer' ? /^\d+$/ : /^\d+(\.\d+)?$/;
    if (!pattern.test(value) || Number(value) < min || Number(value) > max) {
      problems.push(
        kind === 'integer'
          ? { variable, value, problem: 'not a whole number in range', allowed: `an integer ${min}–${max}` }
          : { variable, value, problem: 'not a number in range', allowed: `a decimal number ${min}–${max}, e.g. ${fallback}` },
      );
      return fallback;
    }
    return Number(value);
  };

  /** A signed-note key name: a schema-less URL, no spaces or "+". */
  const keyName = (variable: string, fallback: string): string => {
    const value = env[variable];
    if (value === undefined || value === '') return fallback;
    if (!/^[^\s+\u0000-\u001f]{1,200}$/u.test(value)) {
      problems.push({ variable, value, problem: 'not a signed-note key name', allowed: 'a schema-less URL without spaces or "+", e.g. reglament.gov.kz/log' });
      return fallback;
    }
    return value;
  };
  const maxTokenAge = (): number => {
    const value = env.AUTH_MAX_TOKEN_AGE || DEFAULT_MAX_TOKEN_AGE;
    const seconds = durationSeconds(value);
    if (seconds === null || seconds < 60 || seconds > MAX_TOKEN_AGE_LIMIT_SECONDS) {
      problems.push({
        variable: 'AUTH_MAX_TOKEN_AGE',
        value,
        problem: 'not a duration from 1 minute to 7 days',
        allowed: 'a whole number with s, m, h or d, e.g. 12h',
      });
      return durationSeconds(DEFAULT_MAX_TOKEN_AGE)!;
    }
    return seconds;
  };
  // An identity provider's tokens are accepted only for this service: which issuer and audience that means cannot be guessed.
  if (env.AUTH_JWKS_URL) {
    for (const variable of ['AUTH_ISSUER', 'AUTH_AUDIENCE']) {
      if (env[variable]) continue;
      const claim = variable === 'AUTH_ISSUER' ? '"iss"' : '"aud"';
      problems.push({ variable, value: undefined, problem: 'required with AUTH_JWKS_URL', allowed: `the ${claim} the identity provider writes into tokens for this service` });
    }
  }

  const config: AppConfig = {
    regulationsDir: dir('REGULATIONS_DIR', resolve(SHIPPED_DATA_DIR, 'regulations')),
    calendarsDir: dir('CALENDARS_DIR', resolve(SHIPPED_DATA_DIR, 'calendars')),
    eventStore,
    readStore,
    dataDir,
    host: env.HOST && env.HOST !== '' ? env.HOST : '127.0.0.1',
    port: port('PORT', 3000) ?? 3000,
    logLevel: oneOf('LOG_LEVEL', LOG_LEVELS, 'info'),
    projections: oneOf('PROJECTIONS', ['inline', 'off'] as const, 'inline'),
    workerPort: port('WORKER_PORT', null),
    auth: {
      secret: env.AUTH_JWT_SECRET || undefined,
      jwksUrl: env.AUTH_JWKS_URL || undefined,
      issuer: env.AUTH_ISSUER || undefined,
      audience: env.AUTH_AUDIENCE || undefined,
      maxTokenAgeSeconds: maxTokenAge(),
    },
    backDatedAfterMinutes: numberInRange('BACKDATED_AFTER_MINUTES', 24 * 60, 1, 366 * 24 * 60),
    readYourWritesTimeoutMs: numberInRange('READ_WAIT_MS', 3000, 1, 60_000),
    // PROJECTION_THREAD_NICE: its name while projections ran in a thread, still read when the new one is unset.
    projectionNice: numberInRange(env.PROJECTION_NICE === undefined && env.PROJECTION_THREAD_NICE !== undefined ? 'PROJECTION_THREAD_NICE' : 'PROJECTION_NICE', 19, 0, 19),
    projectionShare: numberInRange('PROJECTION_SHARE', 0.1, 0.05, 1, 'decimal'),
    projectionStaleSeconds: numberInRange('PROJECTION_STALE_SECONDS', 300, 1, 7 * 86_400),
    caseViewCacheMb: numberInRange('CASE_VIEW_CACHE_MB', 128, 0, 16_384),
    caseCacheSize: numberInRange('CASE_CACHE_SIZE', 100_000, 0, 10_000_000),
    startupCheckMaxMb: numberInRange('STARTUP_CHECK_MAX_MB', 1024, 0, 1_048_576),
    ...(env.EVIDENCE_KEY_FILE ? { evidenceKeyFile: dir('EVIDENCE_KEY_FILE', '') } : {}),
    personalData: masterKeySettings(env, problems, (v) => dir(v, '')),
    deadlineWarnings: warningPolicy(env.DEADLINE_WARNINGS, problems),
    deadlineScheduler: oneOf('DEADLINE_SCHEDULER', ['on', 'off'] as const, 'on') === 'on',
    deadlinePollMs: numberInRange('DEADLINE_POLL_MS', 1000, 10, 60_000),
    ...recordFrom(env.DEADLINE_RECORD_FROM, problems),
    webhooks: {
      dispatcher: oneOf('WEBHOOK_DISPATCHER', ['on', 'off'] as const, 'on') === 'on',
      allowPrivate: oneOf('WEBHOOK_ALLOW_PRIVATE', ['on', 'off'] as const, 'off') === 'on',
      timeoutMs: numberInRange('WEBHOOK_TIMEOUT_MS', 10_000, 100, 120_000),
      maxAttempts: numberInRange('WEBHOOK_MAX_ATTEMPTS', 8, 1, 100),
      backoffMs: numberInRange('WEBHOOK_BACKOFF_MS', 1_000, 10, 3_600_000),
    },
    transparency: {
      origin: keyName('TRANSPARENCY_ORIGIN', 'reglament.local/log'),
      checkpointIntervalMs: numberInRange('CHECKPOINT_INTERVAL_MS', 5000, 100, 3_600_000),
      access: oneOf('TRANSPARENCY_ACCESS', ['public', 'auditor'] as const, 'public'),
      ...(env.SIGNING_KEYS_DIR ? { keysDir: dir('SIGNING_KEYS_DIR', '') } : {}),
      ...(env.SIGNING_KEY_ACTIVE ? { activeKey: env.SIGNING_KEY_ACTIVE } : {}),
      mayGenerateKey: eventStoreKind === 'sqlite' && readStoreKind === 'sqlite' && env.NODE_ENV !== 'production',
      shape: `EVENT_STORE=${eventStoreKind}, READ_STORE=${readStoreKind}, NODE_ENV=${env.NODE_ENV ?? '(unset)'}`,
    },
    limits: {
      requestsPerMinute: numberInRange('RATE_LIMIT_PER_MINUTE', 6000, 0, 10_000_000),
      iinLookupsPerMinute: numberInRange('IIN_LOOKUPS_PER_MINUTE', 30, 0, 1_000_000),
      filingsPerDay: numberInRange('FILINGS_PER_DAY', 100, 0, 10_000_000),
      maxConnections: numberInRange('MAX_CONNECTIONS', 1024, 0, 1_000_000),
      streamClients: numberInRange('STREAM_CLIENTS_MAX', 64, 0, 100_000),
    },
    occurredAtToleranceMs: numberInRange('OCCURRED_AT_TOLERANCE_SECONDS', 300, 0, 86_400) * 1000,
    catalogChangeAllowed: (env.CATALOG_CHANGE_ALLOWED ?? '').split(',').map((v) => v.trim()).filter((v) => v !== ''),
    corsOrigins: corsOrigins(env.CORS_ORIGINS, problems),
    production: env.NODE_ENV === 'production',
  };
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}

/** Exact origins (scheme, host, optional port), comma-separated; no wildcard: a page of any origin would act with a user's token. */
function corsOrigins(value: string | undefined, problems: ConfigProblem[]): string[] {
  const origins = (value ?? '').split(',').map((v) => v.trim()).filter((v) => v !== '');
  const bad = origins.filter((origin) => !/^https?:\/\/[a-z0-9.-]+(:\d{1,5})?$/i.test(origin));
  if (bad.length > 0) problems.push({ variable: 'CORS_ORIGINS', value, problem: `${bad.join(', ')} ${bad.length === 1 ? 'is not an origin' : 'are not origins'}`, allowed: 'exact origins, comma-separated, e.g. https://backoffice.example.kz,http://localhost:5173' });
  return origins;
}

function recordFrom(value: string | undefined, problems: ConfigProblem[]): { deadlineRecordFrom?: string } {
  if (value === undefined || value === '') return {};
  if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(value) && !Number.isNaN(Date.parse(value))) return { deadlineRecordFrom: new Date(value).toISOString() };
  problems.push({ variable: 'DEADLINE_RECORD_FROM', value, problem: 'not an instant with an offset', allowed: 'an ISO 8601 instant with an offset, e.g. 2026-12-01T00:00:00+05:00' });
  return {};
}

const WARNINGS_ALLOWED =
  'percent shares of a limit\'s time, each above 0 and below 100, comma-separated (e.g. 50,80), or JSON ' +
  '{"default":[50,80],"byService":{"<serviceId>":[..]},"byVersion":{"<versionId>":[..]}}';

/** `50,80`, or JSON with a default and overrides per service and per regulation version. */
function warningPolicy(value: string | undefined, problems: ConfigProblem[]): WarningPolicy {
  if (value === undefined || value.trim() === '') return DEFAULT_WARNING_POLICY;
  const shares = (list: unknown): number[] | null =>
    Array.isArray(list) && list.every((n) => typeof n === 'number' && n > 0 && n < 100) ? (list as number[]) : null;
  const fail = (problem: string) => {
    problems.push({ variable: 'DEADLINE_WARNINGS', value, problem, allowed: WARNINGS_ALLOWED });
    return DEFAULT_WARNING_POLICY;
  };
  if (!value.trim().startsWith('{')) {
    const list = value.split(',').map((part) => (/^\s*\d+(\.\d+)?\s*$/.test(part) ? Number(part) : Number.NaN));
    return shares(list) ? { default: list } : fail('not a list of percentages between 0 and 100');
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    return fail('not valid JSON');
  }
  const { default: fallback = DEFAULT_WARNING_POLICY.default, byService = {}, byVersion = {}, ...rest } = parsed as Record<string, unknown>;
  if (Object.keys(rest).length > 0) return fail(`unknown key(s) ${Object.keys(rest).join(', ')}`);
  const table = (t: unknown): Record<string, number[]> | null =>
    t !== null && typeof t === 'object' && !Array.isArray(t) && Object.values(t).every((v) => shares(v) !== null) ? (t as Record<string, number[]>) : null;
  const d = shares(fallback);
  const s = table(byService);
  const v = table(byVersion);
  if (!d || !s || !v) return fail('a list that is not of percentages between 0 and 100');
  return { default: d, byService: s, byVersion: v };
}

const LOOPBACK_HOST = /^(localhost|127(\.\d{1,3}){3}|::1|::ffff:127(\.\d{1,3}){3})$/i;

/** Why this is not the embedded single-user default (one process on SQLite, reachable from this machine only), or null. */
export function sharedDeployment(config: AppConfig): string | null {
  if (config.eventStore.kind !== 'sqlite') return `EVENT_STORE=${config.eventStore.kind}`;
  if (config.readStore.kind !== 'sqlite') return `READ_STORE=${config.readStore.kind}`;
  if (config.production) return 'NODE_ENV=production';
  if (!LOOPBACK_HOST.test(config.host)) return `HOST=${config.host}, not a loopback address`;
  return null;
}

function isInside(dir: string, file: string): boolean {
  const real = (path: string) => {
    try {
      return realpathSync(path);
    } catch {
      return resolve(path);
    }
  };
  const rel = relative(real(dir), real(file));
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}

/**
 * Outside the embedded default the token secret and the evidence key must be configuration kept apart from the
 * data: generated inside DATA_DIR, they travel with every copy of it (a backup, a stolen disk), and whoever holds
 * one mints an administrator's token or signs evidence. The embedded default on loopback may keep generating them.
 */
export function secretPlacementProblems(config: AppConfig): ConfigProblem[] {
  const reason = sharedDeployment(config);
  if (reason === null) return [];
  const problems: ConfigProblem[] = [];
  if (!config.auth.secret && !config.auth.jwksUrl) {
    problems.push({
      variable: 'AUTH_JWT_SECRET',
      value: undefined,
      problem: `AUTH_JWT_SECRET or AUTH_JWKS_URL is required outside the embedded single-user default (${reason}): a secret generated in DATA_DIR goes with every copy of it`,
      allowed: 'a secret of at least 32 bytes, or AUTH_JWKS_URL with AUTH_ISSUER and AUTH_AUDIENCE',
    });
  }
  if (!config.personalData.masterKey && !config.personalData.masterKeyFile) {
    problems.push({
      variable: 'PERSONAL_DATA_MASTER_KEY',
      value: undefined,
      problem: `PERSONAL_DATA_MASTER_KEY or PERSONAL_DATA_MASTER_KEY_FILE is required outside the embedded single-user default (${reason}): a key generated in DATA_DIR goes with every copy of the personal data it protects`,
      allowed: MASTER_KEY_ALLOWED,
    });
  } else if (config.personalData.masterKeyFile && isInside(config.dataDir, config.personalData.masterKeyFile)) {
    problems.push({
      variable: 'PERSONAL_DATA_MASTER_KEY_FILE',
      value: config.personalData.masterKeyFile,
      problem: `is inside DATA_DIR (${config.dataDir}) outside the embedded single-user default (${reason})`,
      allowed: 'a key file outside DATA_DIR',
    });
  }
  const keysDir = config.transparency.keysDir;
  if (keysDir !== undefined) {
    // A keys directory (SIGNING_KEYS_DIR) holds the signing keys instead of one evidence key file.
    if (isInside(config.dataDir, keysDir)) {
      problems.push({ variable: 'SIGNING_KEYS_DIR', value: keysDir, problem: `is inside DATA_DIR (${config.dataDir}) outside the embedded single-user default (${reason})`, allowed: 'a keys directory outside DATA_DIR' });
    }
  } else if (!config.evidenceKeyFile) {
    problems.push({
      variable: 'EVIDENCE_KEY_FILE',
      value: undefined,
      problem: `required outside the embedded single-user default (${reason}): a key generated in DATA_DIR goes with every copy of it`,
      allowed: 'the path of an Ed25519 PKCS#8 PEM key outside DATA_DIR, or SIGNING_KEYS_DIR with the signing keys',
    });
  } else if (isInside(config.dataDir, config.evidenceKeyFile)) {
    problems.push({
      variable: 'EVIDENCE_KEY_FILE',
      value: config.evidenceKeyFile,
      problem: `is inside DATA_DIR (${config.dataDir}) outside the embedded single-user default (${reason})`,
      allowed: 'a key file outside DATA_DIR',
    });
  }
  return problems;
}

const MASTER_KEY_ALLOWED = '32 random bytes as 64 hex digits or base64, e.g. `openssl rand -hex 32`';
const MASTER_KEY_TEXT = /^\s*(?:[0-9a-fA-F]{64}|[A-Za-z0-9+/_-]{43}=?)\s*$/;

function masterKeySettings(env: Record<string, string | undefined>, problems: ConfigProblem[], path: (variable: string) => string): AppConfig['personalData'] {
  if (env.PERSONAL_DATA_MASTER_KEY && env.PERSONAL_DATA_MASTER_KEY_FILE) {
    problems.push({ variable: 'PERSONAL_DATA_MASTER_KEY_FILE', value: env.PERSONAL_DATA_MASTER_KEY_FILE, problem: 'set together with PERSONAL_DATA_MASTER_KEY', allowed: 'one of the two' });
  }
  if (env.PERSONAL_DATA_MASTER_KEY) {
    // The value is never echoed: it is the key.
    if (!MASTER_KEY_TEXT.test(env.PERSONAL_DATA_MASTER_KEY)) problems.push({ variable: 'PERSONAL_DATA_MASTER_KEY', value: '(hidden)', problem: 'not a 256-bit key', allowed: MASTER_KEY_ALLOWED });
    return { masterKey: env.PERSONAL_DATA_MASTER_KEY };
  }
  if (env.PERSONAL_DATA_MASTER_KEY_FILE) return { masterKeyFile: path('PERSONAL_DATA_MASTER_KEY_FILE') };
  return {};
}

/** For CLI commands: the configuration, or exit code 78 after printing every problem (as the service does). */
export function configForCommand(env: Record<string, string | undefined> = process.env): AppConfig | 78 {
  try {
    return loadConfig(env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`${error.message}\n`);
    return 78;
  }
}

/** A CLI command's start: its usage on `--help` (exit 0), else its configuration or exit 78 as configForCommand. */
export function commandConfig(argv: readonly string[], usage: string): AppConfig | number {
  if (argv.includes('--help')) {
    process.stderr.write(`${usage}\n`);
    return 0;
  }
  return configForCommand();
}
