import { isAbsolute, resolve } from 'node:path';
import { DEFAULT_WARNING_POLICY, type WarningPolicy } from '../../modules/deadline-alerts/domain/warning-instants';

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
  auth: { secret?: string; jwksUrl?: string; issuer?: string; audience?: string };
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
  /** Most memory, in MiB, for case views kept rendered for callers who read them again; 0 keeps none. */
  caseViewCacheMb: number;
  /** Cases kept folded in memory for commands, least recently used dropped first; a command on one is decided without reading the log. */
  caseCacheSize: number;
  /** The Ed25519 key (PKCS#8 PEM) that signs evidence packs; default DATA_DIR/evidence-signing-key.pem, generated. */
  evidenceKeyFile?: string;
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
    },
    backDatedAfterMinutes: numberInRange('BACKDATED_AFTER_MINUTES', 24 * 60, 1, 366 * 24 * 60),
    readYourWritesTimeoutMs: numberInRange('READ_WAIT_MS', 3000, 1, 60_000),
    // PROJECTION_THREAD_NICE: its name while projections ran in a thread, still read when the new one is unset.
    projectionNice: numberInRange(env.PROJECTION_NICE === undefined && env.PROJECTION_THREAD_NICE !== undefined ? 'PROJECTION_THREAD_NICE' : 'PROJECTION_NICE', 19, 0, 19),
    projectionShare: numberInRange('PROJECTION_SHARE', 0.1, 0.05, 1, 'decimal'),
    caseViewCacheMb: numberInRange('CASE_VIEW_CACHE_MB', 128, 0, 16_384),
    caseCacheSize: numberInRange('CASE_CACHE_SIZE', 100_000, 0, 10_000_000),
    ...(env.EVIDENCE_KEY_FILE ? { evidenceKeyFile: dir('EVIDENCE_KEY_FILE', '') } : {}),
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
  };
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
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
