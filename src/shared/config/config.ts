import { createHash } from 'node:crypto';
import { realpathSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { isAbsolute, relative, resolve } from 'node:path';
import { z } from 'zod';
import { DEFAULT_WARNING_POLICY, type WarningPolicy } from './warning-policy';
import ipaddr from 'ipaddr.js';

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
  /** Threads a rebuild of several read models spreads them over (`rebuild --all`); 1 rebuilds them on one thread. */
  rebuildThreads: number;
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
    /**
     * The witnesses whose cosignatures the log takes: their verifier keys (`<name>+<key id>+<base64>`, type 0x04), listed
     * here or in `witnessesFile` (one a line). None: every cosignature is refused.
     */
    witnesses: string[];
    witnessesFile?: string;
    /**
     * Where API instances beside EventStoreDB (which keep no tree) get evidence packs' inclusion proofs: the worker that
     * follows the log into its tree. Unset there: packs carry none, and verify-evidence calls them not valid.
     */
    workerUrl?: string;
  };
  /** Per-caller limits (0: off): requests a minute, list lookups by applicant IIN a minute, filings an applicant makes a day. */
  limits: {
    requestsPerMinute: number;
    iinLookupsPerMinute: number;
    filingsPerDay: number;
    maxConnections: number;
    streamClients: number;
  };
  /** How far in the future (by this server's clock) an act's occurredAt may lie: clients' clocks are never exact. */
  occurredAtToleranceMs: number;
  /**
   * Regulation versions whose file may differ from what stored cases were recorded under (a deliberate correction,
   * named by version id, or `*`); start-up otherwise refuses a change that breaks stored cases.
   */
  catalogChangeAllowed: string[];
  /** Origins whose browser pages may call the API (CORS); empty: none, the default. */
  corsOrigins: string[];
  /** Addresses or CIDR ranges whose X-Forwarded-For names the client (TRUSTED_PROXIES); empty: none. */
  trustedProxies: string[];
  /** The embedded log's pages are checked (PRAGMA quick_check) on every start up to this size in MiB; 0: never on start. */
  startupCheckMaxMb: number;
  /** NODE_ENV=production. */
  production: boolean;
}

/** The data shipped with the product: <repo>/data, found from this file in src/ or dist/. */
/**
 * An IPv4 address written as four decimal parts, an IPv6 address, or a CIDR range of either narrower than everything
 * (`/0` would trust any caller's X-Forwarded-For, and fastify refuses it at start). `10` is not taken for 0.0.0.10.
 */
function isAddressOrRange(entry: string): boolean {
  const [address, prefix, extra] = entry.split('/');
  if (extra !== undefined || !address) return false;
  const v4 = ipaddr.IPv4.isValidFourPartDecimal(address);
  if (!v4 && !ipaddr.IPv6.isValid(address)) return false;
  if (prefix === undefined) return true;
  const bits = /^\d{1,3}$/.test(prefix) ? Number(prefix) : NaN;
  return bits >= 1 && bits <= (v4 ? 32 : 128);
}

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
          .map(
            (p) =>
              `  ${p.variable}=${p.value === undefined ? '(unset)' : JSON.stringify(p.value)}: ${p.problem}; allowed: ${p.allowed}`,
          )
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

/**
 * A variable's refusal: the issue's message is the problem, `allowed` what the variable may hold, `value` what to
 * show instead of the value (a key is never echoed). The object schema puts the variable's name in the issue's path.
 */
type Refusal = { problem: string; allowed: string; value?: string };
type Ctx = z.RefinementCtx;
const refuse = <T>(ctx: Ctx, refusal: Refusal, fallback: T, path?: string[]): T => {
  ctx.addIssue({ code: 'custom', message: refusal.problem, params: refusal, ...(path ? { path } : {}) });
  return fallback;
};

/** Every variable is text or unset; unset and empty both mean "the default". */
const setting = <T>(fallback: T, read: (value: string, ctx: Ctx) => T) =>
  z
    .string()
    .optional()
    .transform((value, ctx): T => (value === undefined || value === '' ? fallback : read(value, ctx)));

/** A comma-separated list, empty by default; entries that fail `valid` are refused by name (`one`/`many`: is not …). */
const listSetting = (valid: (entry: string) => boolean, [one, many]: [string, string], allowed: string) =>
  setting<string[]>([], (value, ctx) => {
    const entries = value
      .split(',')
      .map((v) => v.trim())
      .filter((v) => v !== '');
    const bad = entries.filter((entry) => !valid(entry));
    if (bad.length === 0) return entries;
    return refuse(ctx, { problem: `${bad.join(', ')} ${bad.length === 1 ? one : many}`, allowed }, []);
  });

const oneOf = <T extends string>(allowed: readonly T[], fallback: T) =>
  setting<T>(fallback, (value, ctx) =>
    (allowed as readonly string[]).includes(value)
      ? (value as T)
      : refuse(ctx, { problem: 'unknown value', allowed: allowed.join(' | ') }, fallback),
  );

const onOff = (fallback: 'on' | 'off') => oneOf(['on', 'off'] as const, fallback).transform((v) => v === 'on');

const tcpPort = <T extends number | null>(fallback: T) =>
  setting<number | T>(fallback, (value, ctx) =>
    /^\d+$/.test(value) && Number(value) <= 65535
      ? Number(value)
      : refuse(ctx, { problem: 'not a TCP port', allowed: 'an integer 0–65535 (0 picks a free port)' }, fallback),
  );

/** A whole number (the default) or a decimal one, from `min` to `max`. */
const numberInRange = (fallback: number, min: number, max: number, kind: 'integer' | 'decimal' = 'integer') =>
  setting(fallback, (value, ctx) => {
    const pattern = kind === 'integer' ? /^\d+$/ : /^\d+(\.\d+)?$/;
    if (pattern.test(value) && Number(value) >= min && Number(value) <= max) return Number(value);
    return refuse(
      ctx,
      kind === 'integer'
        ? { problem: 'not a whole number in range', allowed: `an integer ${min}–${max}` }
        : { problem: 'not a number in range', allowed: `a decimal number ${min}–${max}, e.g. ${fallback}` },
      fallback,
    );
  });

/** A path, relative ones from the working directory; undefined when unset. */
const path = (cwd: string) =>
  setting<string | undefined>(undefined, (value) => (isAbsolute(value) ? value : resolve(cwd, value)));

/** A signed-note key name: a schema-less URL, no spaces or "+". */
const keyName = (fallback: string) =>
  setting(fallback, (value, ctx) =>
    /^[^\s+\u0000-\u001f]{1,200}$/u.test(value)
      ? value
      : refuse(
          ctx,
          {
            problem: 'not a signed-note key name',
            allowed: 'a schema-less URL without spaces or "+", e.g. reglament.gov.kz/log',
          },
          fallback,
        ),
  );

/**
 * The worker that keeps the log's tree, as API instances reach it: http(s), a host and a port, nothing else (its
 * routes are the service's own). Credentials in it would go to every request; a path or query would be dropped.
 */
const workerUrl = setting<string | undefined>(undefined, (value, ctx) => {
  const allowed = "the worker's base URL, http(s)://host:port, e.g. http://worker:3100";
  let url: URL;
  try {
    url = new URL(value.trim());
  } catch {
    return refuse(ctx, { problem: 'not a URL', allowed }, undefined);
  }
  const problem =
    url.protocol !== 'http:' && url.protocol !== 'https:'
      ? `the scheme ${url.protocol}// is not http or https`
      : url.username || url.password
        ? "it carries credentials (the caller's token is what the worker is sent)"
        : url.pathname !== '/' || url.search || url.hash
          ? 'it has a path, query or fragment'
          : null;
  return problem ? refuse(ctx, { problem, allowed, value: url.origin }, undefined) : url.origin;
});

const maxTokenAge = setting(durationSeconds(DEFAULT_MAX_TOKEN_AGE)!, (value, ctx) => {
  const seconds = durationSeconds(value);
  if (seconds !== null && seconds >= 60 && seconds <= MAX_TOKEN_AGE_LIMIT_SECONDS) return seconds;
  return refuse(
    ctx,
    { problem: 'not a duration from 1 minute to 7 days', allowed: 'a whole number with s, m, h or d, e.g. 12h' },
    durationSeconds(DEFAULT_MAX_TOKEN_AGE)!,
  );
});

const recordFrom = setting<string | undefined>(undefined, (value, ctx) =>
  /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(value) && !Number.isNaN(Date.parse(value))
    ? new Date(value).toISOString()
    : refuse(
        ctx,
        {
          problem: 'not an instant with an offset',
          allowed: 'an ISO 8601 instant with an offset, e.g. 2026-12-01T00:00:00+05:00',
        },
        undefined,
      ),
);

const WARNINGS_ALLOWED =
  "percent shares of a limit's time, each above 0 and below 100, comma-separated (e.g. 50,80), or JSON " +
  '{"default":[50,80],"byService":{"<serviceId>":[..]},"byVersion":{"<versionId>":[..]}}';
const shares = z.array(z.number().gt(0).lt(100));
const warningPolicyJson = z.strictObject({
  default: shares.default([...DEFAULT_WARNING_POLICY.default]),
  byService: z.record(z.string(), shares).default({}),
  byVersion: z.record(z.string(), shares).default({}),
});

/** `50,80`, or JSON with a default and overrides per service and per regulation version. */
const warningPolicy = setting<WarningPolicy>(DEFAULT_WARNING_POLICY, (value, ctx) => {
  const fail = (problem: string) => refuse(ctx, { problem, allowed: WARNINGS_ALLOWED }, DEFAULT_WARNING_POLICY);
  if (value.trim() === '') return DEFAULT_WARNING_POLICY;
  if (!value.trim().startsWith('{')) {
    const list = shares.safeParse(
      value.split(',').map((part) => (/^\s*\d+(\.\d+)?\s*$/.test(part) ? Number(part) : Number.NaN)),
    );
    return list.success ? { default: list.data } : fail('not a list of percentages between 0 and 100');
  }
  let json: unknown;
  try {
    json = JSON.parse(value);
  } catch {
    return fail('not valid JSON');
  }
  const policy = warningPolicyJson.safeParse(json);
  if (policy.success) return policy.data;
  const unknownKeys = policy.error.issues.find((i) => i.code === 'unrecognized_keys');
  return fail(
    unknownKeys
      ? `unknown key(s) ${unknownKeys.keys.join(', ')}`
      : 'a list that is not of percentages between 0 and 100',
  );
});

export const WITNESSES_ALLOWED =
  "witnesses' verifier keys <name>+<8 hex digits of key id>+<base64(0x04 || Ed25519 public key)>, as the witness prints them, separated by commas or newlines";

/**
 * What is wrong with a witness's verifier key (c2sp.org/signed-note, the cosigner type 0x04 of c2sp.org/tlog-cosignature),
 * or null. The key id must be the one the name and key give, so a key pasted with another's name is caught here.
 */
export function witnessKeyProblem(vkey: string): string | null {
  const match = /^([^+\s\u0000-\u001f]{1,200})\+([0-9a-fA-F]{8})\+([A-Za-z0-9+/]{44})$/u.exec(vkey);
  if (!match) return `${JSON.stringify(vkey)} is not a verifier key`;
  const [, name, id, material] = match as unknown as [string, string, string, string];
  const bytes = Buffer.from(material, 'base64');
  if (bytes[0] === 0x01) return `${name} is a signing key (type 0x01), not a witness's cosigning key (type 0x04)`;
  if (bytes.length !== 33 || bytes[0] !== 0x04) return `${name}: not an Ed25519 cosigning key (type 0x04, 32 bytes)`;
  const keyId = createHash('sha256')
    .update(name, 'utf8')
    .update(Buffer.from([0x0a, 0x04]))
    .update(bytes.subarray(1))
    .digest()
    .subarray(0, 4)
    .toString('hex');
  return keyId === id.toLowerCase() ? null : `${name}: key id ${id} does not match the key (computed ${keyId})`;
}

/** Witnesses' verifier keys, separated by commas or white space (a file's content pasted into the variable reads too). */
const witnessKeys = setting<string[]>([], (value, ctx) => {
  const keys = [...new Set(value.split(/[\s,]+/).filter((key) => key !== ''))];
  const problems = keys.map(witnessKeyProblem).filter((problem) => problem !== null);
  return problems.length === 0 ? keys : refuse(ctx, { problem: problems.join('; '), allowed: WITNESSES_ALLOWED }, []);
});

const MASTER_KEY_ALLOWED = '32 random bytes as 64 hex digits or base64, e.g. `openssl rand -hex 32`';
const MASTER_KEY_TEXT = /^\s*(?:[0-9a-fA-F]{64}|[A-Za-z0-9+/_-]{43}=?)\s*$/;

/** The variables, each read on its own; declaration order is the order problems are listed in. */
const environmentSchema = (cwd: string) =>
  z.object({
    EVENT_STORE: oneOf(['sqlite', 'eventstoredb'] as const, 'sqlite'),
    READ_STORE: oneOf(['sqlite', 'mongodb'] as const, 'sqlite'),
    DATA_DIR: path(cwd),
    REGULATIONS_DIR: path(cwd),
    CALENDARS_DIR: path(cwd),
    MONGODB_DATABASE: setting('reglament', (v) => v),
    HOST: setting('127.0.0.1', (v) => v),
    PORT: tcpPort(3000),
    LOG_LEVEL: oneOf(LOG_LEVELS, 'info'),
    PROJECTIONS: oneOf(['inline', 'off'] as const, 'inline'),
    WORKER_PORT: tcpPort(null),
    AUTH_JWT_SECRET: setting<string | undefined>(undefined, (v) => v),
    AUTH_JWKS_URL: setting<string | undefined>(undefined, (v) => v),
    AUTH_ISSUER: setting<string | undefined>(undefined, (v) => v),
    AUTH_AUDIENCE: setting<string | undefined>(undefined, (v) => v),
    AUTH_MAX_TOKEN_AGE: maxTokenAge,
    BACKDATED_AFTER_MINUTES: numberInRange(24 * 60, 1, 366 * 24 * 60),
    READ_WAIT_MS: numberInRange(3000, 1, 60_000),
    PROJECTION_NICE: numberInRange(19, 0, 19),
    // Its name while projections ran in a thread, read only while the new one is unset (loadConfig drops it otherwise).
    PROJECTION_THREAD_NICE: numberInRange(19, 0, 19),
    PROJECTION_SHARE: numberInRange(0.1, 0.05, 1, 'decimal'),
    PROJECTION_STALE_SECONDS: numberInRange(300, 1, 7 * 86_400),
    // 0: chosen by the machine's parallelism (defaultRebuildThreads).
    REBUILD_THREADS: numberInRange(0, 0, 64),
    CASE_VIEW_CACHE_MB: numberInRange(128, 0, 16_384),
    CASE_CACHE_SIZE: numberInRange(100_000, 0, 10_000_000),
    STARTUP_CHECK_MAX_MB: numberInRange(1024, 0, 1_048_576),
    EVIDENCE_KEY_FILE: path(cwd),
    PERSONAL_DATA_MASTER_KEY: setting<string | undefined>(undefined, (value, ctx) =>
      // The value is never echoed: it is the key.
      MASTER_KEY_TEXT.test(value)
        ? value
        : refuse(ctx, { problem: 'not a 256-bit key', allowed: MASTER_KEY_ALLOWED, value: '(hidden)' }, value),
    ),
    PERSONAL_DATA_MASTER_KEY_FILE: path(cwd),
    DEADLINE_WARNINGS: warningPolicy,
    DEADLINE_SCHEDULER: onOff('on'),
    DEADLINE_POLL_MS: numberInRange(1000, 10, 60_000),
    DEADLINE_RECORD_FROM: recordFrom,
    WEBHOOK_DISPATCHER: onOff('on'),
    WEBHOOK_ALLOW_PRIVATE: onOff('off'),
    WEBHOOK_TIMEOUT_MS: numberInRange(10_000, 100, 120_000),
    WEBHOOK_MAX_ATTEMPTS: numberInRange(8, 1, 100),
    WEBHOOK_BACKOFF_MS: numberInRange(1_000, 10, 3_600_000),
    TRANSPARENCY_ORIGIN: keyName('reglament.local/log'),
    CHECKPOINT_INTERVAL_MS: numberInRange(5000, 100, 3_600_000),
    TRANSPARENCY_ACCESS: oneOf(['public', 'auditor'] as const, 'public'),
    SIGNING_KEYS_DIR: path(cwd),
    SIGNING_KEY_ACTIVE: setting<string | undefined>(undefined, (v) => v),
    TRANSPARENCY_WITNESSES: witnessKeys,
    TRANSPARENCY_WITNESSES_FILE: path(cwd),
    TRANSPARENCY_WORKER_URL: workerUrl,
    RATE_LIMIT_PER_MINUTE: numberInRange(6000, 0, 10_000_000),
    IIN_LOOKUPS_PER_MINUTE: numberInRange(30, 0, 1_000_000),
    FILINGS_PER_DAY: numberInRange(100, 0, 10_000_000),
    MAX_CONNECTIONS: numberInRange(1024, 0, 1_000_000),
    STREAM_CLIENTS_MAX: numberInRange(64, 0, 100_000),
    OCCURRED_AT_TOLERANCE_SECONDS: numberInRange(300, 0, 86_400),
    CATALOG_CHANGE_ALLOWED: z
      .string()
      .optional()
      .transform((v) =>
        (v ?? '')
          .split(',')
          .map((s) => s.trim())
          .filter((s) => s !== ''),
      ),
    // Exact origins only: a wildcard would let a page of any origin act with a user's token.
    CORS_ORIGINS: listSetting(
      (origin) => /^https?:\/\/[a-z0-9.-]+(:\d{1,5})?$/i.test(origin),
      ['is not an origin', 'are not origins'],
      'exact origins, comma-separated, e.g. https://backoffice.example.kz,http://localhost:5173',
    ),
    // The load balancers in front: a request from one of them is counted (rate limit) and logged by the client address
    // its X-Forwarded-For names; from anywhere else that header is ignored, so a caller cannot pick its own address.
    TRUSTED_PROXIES: listSetting(
      isAddressOrRange,
      ['is not an IP address or range', 'are not IP addresses or ranges'],
      'IP addresses (IPv4 as four decimal parts) or CIDR ranges narrower than /0 of the load balancers, comma-separated, e.g. 10.0.0.5,10.1.0.0/16',
    ),
    NODE_ENV: z.string().optional(),
  });

/** A URL whose scheme (up to the first ':', so `esdb+discover://` is not taken for `esdb://`) the client parses. */
function checkUrl(ctx: Ctx, variable: string, value: string | undefined, schemes: string[], when: string): void {
  const allowed = `a URL starting ${schemes.map((s) => `${s}://`).join(' or ')}`;
  if (value === undefined || value === '')
    return void refuse(ctx, { problem: `required when ${when}`, allowed }, undefined, [variable]);
  const scheme = /^([^:]+):\/\//.exec(value.trim())?.[1];
  if (scheme === undefined || !schemes.includes(scheme)) {
    refuse(
      ctx,
      {
        problem: `the scheme ${scheme === undefined ? '(none)' : `${scheme}://`} is not one the client can parse`,
        allowed,
      },
      undefined,
      [variable],
    );
  }
}

/** The rules between variables, read from the raw text so they run even when a single variable is refused. */
const combinationsSchema = z.record(z.string(), z.string().optional()).superRefine((env, ctx) => {
  if (env.EVENT_STORE === 'eventstoredb')
    checkUrl(ctx, 'EVENTSTORE_URL', env.EVENTSTORE_URL, ESDB_SCHEMES, 'EVENT_STORE=eventstoredb');
  // The embedded log keeps its tree in its own transaction: its packs' proofs come from there, never from elsewhere.
  if (env.TRANSPARENCY_WORKER_URL && (env.EVENT_STORE ?? 'sqlite') === 'sqlite')
    refuse(
      ctx,
      {
        problem: "the embedded log keeps its own tree, which evidence packs' proofs come from",
        allowed: "unset with EVENT_STORE=sqlite; the worker's URL on API instances with EVENT_STORE=eventstoredb",
      },
      undefined,
      ['TRANSPARENCY_WORKER_URL'],
    );
  if (env.READ_STORE === 'mongodb')
    checkUrl(ctx, 'MONGODB_URL', env.MONGODB_URL, ['mongodb', 'mongodb+srv'], 'READ_STORE=mongodb');
  // An identity provider's tokens are accepted only for this service: which issuer and audience that means cannot be guessed.
  if (env.AUTH_JWKS_URL) {
    for (const variable of ['AUTH_ISSUER', 'AUTH_AUDIENCE']) {
      if (env[variable]) continue;
      const claim = variable === 'AUTH_ISSUER' ? '"iss"' : '"aud"';
      refuse(
        ctx,
        {
          problem: 'required with AUTH_JWKS_URL',
          allowed: `the ${claim} the identity provider writes into tokens for this service`,
        },
        undefined,
        [variable],
      );
    }
  }
  if (env.TRANSPARENCY_WITNESSES && env.TRANSPARENCY_WITNESSES_FILE) {
    refuse(
      ctx,
      {
        problem: 'set together with TRANSPARENCY_WITNESSES',
        allowed: 'one of the two: a list of keys, or a file of them',
      },
      undefined,
      ['TRANSPARENCY_WITNESSES_FILE'],
    );
  }
  if (env.PERSONAL_DATA_MASTER_KEY && env.PERSONAL_DATA_MASTER_KEY_FILE) {
    refuse(ctx, { problem: 'set together with PERSONAL_DATA_MASTER_KEY', allowed: 'one of the two' }, undefined, [
      'PERSONAL_DATA_MASTER_KEY_FILE',
    ]);
  }
});

function problemsOf(error: z.ZodError | undefined, env: Record<string, string | undefined>): ConfigProblem[] {
  return (error?.issues ?? []).map((issue) => {
    const variable = String(issue.path[0]);
    const refusal = (issue as { params?: Refusal }).params;
    return {
      variable,
      value: refusal?.value ?? env[variable],
      problem: refusal?.problem ?? issue.message,
      allowed: refusal?.allowed ?? '',
    };
  });
}

/** Pure: environment in, config or every problem found out (not just the first). */
/**
 * REBUILD_THREADS unset: two threads where the machine runs four or more at once, else one. Two rebuild threads, their
 * collectors' helpers and the one read store's lock need more than two cores: on a quiet two-core machine the rebuild of
 * 1.15M events took 75.8 s on two threads and 67.2 s on one (BENCHMARKS.md, issue 19, "Rebuilt on several threads").
 */
export function defaultRebuildThreads(): number {
  return availableParallelism() >= 4 ? 2 : 1;
}

export function loadConfig(env: Record<string, string | undefined>, cwd = process.cwd()): AppConfig {
  // A plain copy: process.env is not a plain object, which zod's record refuses.
  const plain = { ...env };
  const variables = environmentSchema(cwd).safeParse(
    env.PROJECTION_NICE === undefined ? plain : { ...plain, PROJECTION_THREAD_NICE: undefined },
  );
  const combinations = combinationsSchema.safeParse(plain);
  const problems = [...problemsOf(variables.error, env), ...problemsOf(combinations.error, env)];
  if (!variables.success || problems.length > 0) throw new ConfigError(problems);
  const v = variables.data;
  const dataDir = v.DATA_DIR ?? resolve(cwd, './var/data');
  const eventStoreKind = v.EVENT_STORE;
  const readStoreKind = v.READ_STORE;
  return {
    regulationsDir: v.REGULATIONS_DIR ?? resolve(SHIPPED_DATA_DIR, 'regulations'),
    calendarsDir: v.CALENDARS_DIR ?? resolve(SHIPPED_DATA_DIR, 'calendars'),
    eventStore:
      eventStoreKind === 'sqlite' ? { kind: 'sqlite', dataDir } : { kind: 'eventstoredb', url: env.EVENTSTORE_URL! },
    readStore:
      readStoreKind === 'sqlite'
        ? { kind: 'sqlite', dataDir }
        : { kind: 'mongodb', url: env.MONGODB_URL!, database: v.MONGODB_DATABASE },
    dataDir,
    host: v.HOST,
    port: v.PORT,
    logLevel: v.LOG_LEVEL,
    projections: v.PROJECTIONS,
    workerPort: v.WORKER_PORT,
    auth: {
      secret: v.AUTH_JWT_SECRET,
      jwksUrl: v.AUTH_JWKS_URL,
      issuer: v.AUTH_ISSUER,
      audience: v.AUTH_AUDIENCE,
      maxTokenAgeSeconds: v.AUTH_MAX_TOKEN_AGE,
    },
    backDatedAfterMinutes: v.BACKDATED_AFTER_MINUTES,
    readYourWritesTimeoutMs: v.READ_WAIT_MS,
    projectionNice:
      env.PROJECTION_NICE === undefined && env.PROJECTION_THREAD_NICE !== undefined
        ? v.PROJECTION_THREAD_NICE
        : v.PROJECTION_NICE,
    projectionShare: v.PROJECTION_SHARE,
    projectionStaleSeconds: v.PROJECTION_STALE_SECONDS,
    rebuildThreads: v.REBUILD_THREADS || defaultRebuildThreads(),
    caseViewCacheMb: v.CASE_VIEW_CACHE_MB,
    caseCacheSize: v.CASE_CACHE_SIZE,
    startupCheckMaxMb: v.STARTUP_CHECK_MAX_MB,
    ...(v.EVIDENCE_KEY_FILE ? { evidenceKeyFile: v.EVIDENCE_KEY_FILE } : {}),
    personalData: v.PERSONAL_DATA_MASTER_KEY
      ? { masterKey: v.PERSONAL_DATA_MASTER_KEY }
      : v.PERSONAL_DATA_MASTER_KEY_FILE
        ? { masterKeyFile: v.PERSONAL_DATA_MASTER_KEY_FILE }
        : {},
    deadlineWarnings: v.DEADLINE_WARNINGS,
    deadlineScheduler: v.DEADLINE_SCHEDULER,
    deadlinePollMs: v.DEADLINE_POLL_MS,
    ...(v.DEADLINE_RECORD_FROM ? { deadlineRecordFrom: v.DEADLINE_RECORD_FROM } : {}),
    webhooks: {
      dispatcher: v.WEBHOOK_DISPATCHER,
      allowPrivate: v.WEBHOOK_ALLOW_PRIVATE,
      timeoutMs: v.WEBHOOK_TIMEOUT_MS,
      maxAttempts: v.WEBHOOK_MAX_ATTEMPTS,
      backoffMs: v.WEBHOOK_BACKOFF_MS,
    },
    transparency: {
      origin: v.TRANSPARENCY_ORIGIN,
      checkpointIntervalMs: v.CHECKPOINT_INTERVAL_MS,
      access: v.TRANSPARENCY_ACCESS,
      ...(v.SIGNING_KEYS_DIR ? { keysDir: v.SIGNING_KEYS_DIR } : {}),
      ...(v.SIGNING_KEY_ACTIVE ? { activeKey: v.SIGNING_KEY_ACTIVE } : {}),
      mayGenerateKey: eventStoreKind === 'sqlite' && readStoreKind === 'sqlite' && env.NODE_ENV !== 'production',
      shape: `EVENT_STORE=${eventStoreKind}, READ_STORE=${readStoreKind}, NODE_ENV=${env.NODE_ENV ?? '(unset)'}`,
      witnesses: v.TRANSPARENCY_WITNESSES,
      ...(v.TRANSPARENCY_WITNESSES_FILE ? { witnessesFile: v.TRANSPARENCY_WITNESSES_FILE } : {}),
      ...(v.TRANSPARENCY_WORKER_URL ? { workerUrl: v.TRANSPARENCY_WORKER_URL } : {}),
    },
    limits: {
      requestsPerMinute: v.RATE_LIMIT_PER_MINUTE,
      iinLookupsPerMinute: v.IIN_LOOKUPS_PER_MINUTE,
      filingsPerDay: v.FILINGS_PER_DAY,
      maxConnections: v.MAX_CONNECTIONS,
      streamClients: v.STREAM_CLIENTS_MAX,
    },
    occurredAtToleranceMs: v.OCCURRED_AT_TOLERANCE_SECONDS * 1000,
    catalogChangeAllowed: v.CATALOG_CHANGE_ALLOWED,
    corsOrigins: v.CORS_ORIGINS,
    trustedProxies: v.TRUSTED_PROXIES,
    production: env.NODE_ENV === 'production',
  };
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

/** Whether the file (or directory) lies in `dir`, symbolic links resolved where they exist. */
export function isInside(dir: string, file: string): boolean {
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
 * Who is checked by secretPlacementProblems. `service`: the API and its worker, which verify tokens (the worker beside
 * EventStoreDB serves the log's proofs) and sign (checkpoints, evidence packs). `command`: a command of the data
 * directory, held to the master key and to where every configured key lies; mint-token asks for the token secret
 * itself, and a command that signs loads the evidence key, which is not generated outside the embedded default.
 */
export type SecretHolder = 'service' | 'command';

/**
 * Outside the embedded default the token secret and the evidence key must be configuration kept apart from the
 * data: generated inside DATA_DIR, they travel with every copy of it (a backup, a stolen disk), and whoever holds
 * one mints an administrator's token or signs evidence. The embedded default on loopback may keep generating them.
 * The API, its worker and every command of the data directory are refused alike (refuseMisplacedSecrets): a process
 * let through would run the deployment on a key found in a copied DATA_DIR, after its API refused to start.
 */
export function secretPlacementProblems(config: AppConfig, holder: SecretHolder = 'service'): ConfigProblem[] {
  const reason = sharedDeployment(config);
  if (reason === null) return [];
  const problems: ConfigProblem[] = [];
  if (holder === 'service' && !config.auth.secret && !config.auth.jwksUrl) {
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
      problems.push({
        variable: 'SIGNING_KEYS_DIR',
        value: keysDir,
        problem: `is inside DATA_DIR (${config.dataDir}) outside the embedded single-user default (${reason})`,
        allowed: 'a keys directory outside DATA_DIR',
      });
    }
  } else if (!config.evidenceKeyFile) {
    if (holder === 'service')
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

/** Throws the ConfigError (exit 78) of secretPlacementProblems: the one check of the API, its worker and the commands. */
export function refuseMisplacedSecrets(config: AppConfig, holder: SecretHolder): AppConfig {
  const problems = secretPlacementProblems(config, holder);
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}

/**
 * For CLI commands: the configuration, or exit code 78 after printing every problem (as the service does). `data`: a
 * command of the data directory, refused as the service is where its secrets lie (refuseMisplacedSecrets).
 */
export function configForCommand(
  env: Record<string, string | undefined> = process.env,
  { data = false }: { data?: boolean } = {},
): AppConfig | 78 {
  try {
    const config = loadConfig(env);
    return data ? refuseMisplacedSecrets(config, 'command') : config;
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`${error.message}\n`);
    return 78;
  }
}
