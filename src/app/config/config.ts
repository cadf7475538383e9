import { isAbsolute, resolve } from 'node:path';

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
    const value = env[variable];
    if (value === undefined || value === '') {
      problems.push({ variable, value, problem: `required when ${when}`, allowed: `a ${schemes.join(' or ')} URL` });
      return '';
    }
    if (!schemes.some((s) => value.startsWith(`${s}://`))) {
      problems.push({ variable, value, problem: 'not a connection URL of the right scheme', allowed: `a ${schemes.join(' or ')} URL` });
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
      : { kind: 'eventstoredb', url: url('EVENTSTORE_URL', ['esdb', 'esdb+discover', 'kurrentdb', 'kurrentdb+discover'], 'EVENT_STORE=eventstoredb') };
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
    transparency: {
      origin: keyName('TRANSPARENCY_ORIGIN', 'reglament.local/log'),
      checkpointIntervalMs: numberInRange('CHECKPOINT_INTERVAL_MS', 5000, 100, 3_600_000),
      access: oneOf('TRANSPARENCY_ACCESS', ['public', 'auditor'] as const, 'public'),
      ...(env.SIGNING_KEYS_DIR ? { keysDir: dir('SIGNING_KEYS_DIR', '') } : {}),
      ...(env.SIGNING_KEY_ACTIVE ? { activeKey: env.SIGNING_KEY_ACTIVE } : {}),
      mayGenerateKey: eventStoreKind === 'sqlite' && readStoreKind === 'sqlite' && env.NODE_ENV !== 'production',
      shape: `EVENT_STORE=${eventStoreKind}, READ_STORE=${readStoreKind}, NODE_ENV=${env.NODE_ENV ?? '(unset)'}`,
    },
  };
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
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
