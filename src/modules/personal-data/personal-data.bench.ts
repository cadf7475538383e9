/**
 * The price of encrypting personal data, each figure beside the same work without encryption in the same run:
 * command throughput (filing and cancelling cases through the command service on the embedded log, 10 at a time),
 * and a rebuild of every read model over two generated logs of the same acts, one encrypted (rebuildFigure).
 * Cases filed through the command service: BENCH_PD_CASES (default: a fiftieth of BENCH_EVENTS, at least 2,000), two
 * acts each, in BENCH_PD_ROUNDS rounds (default 10, which balances the order of five kinds) of five kinds in turn:
 * plain, encrypted, and the encrypted figure's three references (referenceFigures); the figure's detail (also on
 * stderr) gives each kind's wall seconds, each round's ratio and each kind's CPU time per act.
 * The applicants are a realistic population (applicantOf): most filings are by a person not seen before (a new data
 * subject, its key taken from the pool and claimed), one in BENCH_PD_RETURNING_EVERY (default 5) by an earlier applicant
 * (a known subject, only the case's link written). BENCH_PD_STAGES=1 also times each command's stages (stageTimer) for
 * the plain and encrypted kinds (the references then run without the timers' small cost).
 * BENCH_PD_ONLY=<kind> (plain, encrypted, `same size`, `keys in memory`, `cipher alone`) runs that kind's rounds alone
 * (to profile one kind). BENCH_PD_WARMUP (default a third of the cases, at most 1,000) cases of each kind run first,
 * not measured.
 */
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { BenchContext, BenchResult, BenchSuite } from '../../bench/bench-kit';
import { balancedRounds, roundOrder } from '../../bench/round-order';
import { iinFor, mainPath, simulateCase, startProfile } from '../../bench/audit-compliance.bench';
import { Rng } from '../../demo/prng';
import { caseStreamId, type CaseEvent, type DecidedEvent } from '../cases/domain/case-event';
import { personalFieldsOf, protectData } from './domain/personal-fields';
import { ENVELOPE_VERSION } from './domain/envelope';
import type { PersonalKeyStore, StoreSubject } from './keys/key-store.port';
import { loadConfig } from '../../shared/config/config';
import { loadReferenceData, type ReferenceData } from '../../app/reference-data';
import { allProjections } from '../../app/projections';
import { ProjectionRuntime } from '../../projections/projection-runtime';
import { CaseCommandService } from '../cases/commands/case-command-service';
import { makeIin } from '../identity/domain/iin';
import { openSqliteEventLog } from '../event-log/sqlite/sqlite-event-log';
import type { Principal } from '../identity/domain/principal';
import type { EventLog } from '../event-log/event-log.port';
import type { PersonalDataProtection } from '../cases/commands/case-command-service';
import { openSqliteReadStore } from '../read-store/sqlite/sqlite-read-store';
import { newDataKey } from './domain/key-wrapping';
import { SqliteKeyStore } from './keys/sqlite-key-store';
import { PersonalDataVault } from './personal-data-vault';
import { newId } from '../../shared/ids/new-id';

const CONCURRENCY = 10;

export const personalDataBench: BenchSuite = {
  name: 'personal data',
  async run(ctx) {
    const cases = Number(process.env.BENCH_PD_CASES ?? Math.max(2000, Math.round(ctx.events / 50)));
    const reference = loadReferenceData(loadConfig({}));
    const dirs = Object.fromEntries(COMMAND_KINDS.map((k) => [k, join(ctx.workDir, `pd-${k}`)])) as Record<
      CommandKind,
      string
    >;
    for (const dir of Object.values(dirs)) mkdirSync(dir, { recursive: true });
    const master = newDataKey();
    const keys = SqliteKeyStore.open(dirs.encrypted, master);
    const vault = new PersonalDataVault(keys);
    const logs = Object.fromEntries(
      COMMAND_KINDS.map((k) => [k, openSqliteEventLog({ file: join(dirs[k], 'events.db') })]),
    ) as Record<CommandKind, ReturnType<typeof openSqliteEventLog>>;
    const returningEvery = Number(process.env.BENCH_PD_RETURNING_EVERY ?? 5);
    const stages = process.env.BENCH_PD_STAGES === '1' ? { plain: stageTimer(), encrypted: stageTimer() } : null;
    // The three references beside the figure: what the stored acts' larger size alone costs (no cipher, no key), what
    // the vault costs with its keys held in memory (the cipher and the blind index, no key store file), and what the
    // cipher alone costs (every field sealed under one key in memory: the floor of any vault with this envelope).
    const protections: Record<CommandKind, PersonalDataProtection | undefined> = {
      plain: undefined,
      encrypted: stages?.encrypted.vault(vault) ?? vault,
      'same size': sameSizeActs(),
      'keys in memory': new PersonalDataVault(new MemoryKeyStore(keys.blindIndexKey)),
      'cipher alone': cipherAloneActs(),
    };
    const services = Object.fromEntries(
      COMMAND_KINDS.map((k) => {
        const log = k === 'plain' || k === 'encrypted' ? (stages?.[k].log(logs[k]) ?? logs[k]) : logs[k];
        const options = protections[k] ? { personalData: protections[k] } : {};
        return [
          k,
          new CaseCommandService(log, reference.catalog, reference.calendar, {
            backDatedAfterMs: 86_400_000,
            ...options,
          }),
        ];
      }),
    ) as Record<CommandKind, CaseCommandService>;
    const zero = () => Object.fromEntries(COMMAND_KINDS.map((k) => [k, 0])) as Record<CommandKind, number>;
    const seconds = zero();
    // This process's CPU time (every thread: the log's writer too) per kind: on a shared machine the wall-time ratio
    // moves with the other processes' load, the CPU time each act costs much less.
    const cpuSeconds = zero();
    // The main thread's alone: it decides, encrypts and seals every act, so on a quiet machine its time per act is what
    // the rate follows; the log's writer and the key store's writer work beside it on threads of their own.
    const mainCpuSeconds = zero();
    const roundRatios: number[] = [];
    const merge = { claims: 0, cpuSeconds: 0 };
    // Rounds of the same work, the kinds in turn, so a busy moment of the shared machine falls on all of them alike.
    // As many rounds as roundOrder needs to balance the kinds (ten for five): each goes first, and follows every other,
    // equally often.
    const rounds = Number(process.env.BENCH_PD_ROUNDS ?? balancedRounds(COMMAND_KINDS.length));
    const perRound = Math.ceil(cases / rounds);
    // BENCH_PD_ONLY=<kind>: one kind's rounds alone, so a CPU profile of the run is that kind's (the figure's ratio is
    // then meaningless).
    const only = COMMAND_KINDS.find((k) => k === process.env.BENCH_PD_ONLY);
    // The cases numbered [from, to) through one kind's command service, CONCURRENCY at a time. A measured case's
    // applicant is applicantOf's (people numbered below `cases`); a warm-up case's is a new person numbered from `cases`,
    // so the warm-up makes none of the measured rounds' new people a returning one.
    const runCases = async (kind: CommandKind, from: number, to: number, tick: boolean) => {
      for (let i = from; i < to; i += CONCURRENCY) {
        await Promise.all(
          Array.from({ length: Math.min(CONCURRENCY, to - i) }, async (_, j) => {
            const n = i + j;
            const iin = personIin(tick ? applicantOf(n, returningEvery) : n);
            const who: Principal = { id: `citizen-${n}`, name: 'citizen', roles: ['applicant'], iin };
            const timer = tick && (kind === 'plain' || kind === 'encrypted') ? stages?.[kind] : undefined;
            const filingStarted = timer?.now();
            const filed = await services[kind].submit(who, {
              serviceId: 'civil-service-testing',
              channel: 'portal',
              unit: 'astana-hq',
              applicant: { iin, fullName: `Заявитель Номер ${n}` },
              occurredAt: new Date('2015-09-15T04:00:00Z'),
            });
            if (!filed.ok) throw new Error(JSON.stringify(filed.refusal));
            timer?.command(filed.accepted.caseId, filingStarted!);
            const cancelStarted = timer?.now();
            const cancelled = await services[kind].cancel(who, filed.accepted.caseId, {
              occurredAt: new Date('2015-09-15T09:00:00Z'),
              reason: `причина отзыва заявителя ${n}`,
            });
            if (!cancelled.ok) throw new Error(JSON.stringify(cancelled.refusal));
            timer?.command(filed.accepted.caseId, cancelStarted!);
            if (tick) progress.tick();
          }),
        );
      }
    };
    const kinds = COMMAND_KINDS.filter((k) => !only || k === only);
    const progress = ctx.progress('personal data: commands', cases * kinds.length);
    // A warm-up of each kind, not measured, with people of its own (numbered after the measured cases): without it the
    // first round's first kind ran while the process was still compiling and filling its caches, which made round 1's
    // ratio read about 0.1 higher than the others'.
    const warmUp = Number(process.env.BENCH_PD_WARMUP ?? Math.min(1_000, Math.ceil(cases / 3)));
    for (const kind of kinds) await runCases(kind, cases, cases + warmUp, false);
    if (!only) keys.mergeClaims();
    for (let round = 0; round < rounds; round++) {
      const roundSeconds = zero();
      // A kind pays for what the kind before it left (the collector's debt, a key group being made, the log writer's
      // last commit): the order is a balanced Latin square (roundOrder), so over the default rounds each kind follows
      // every other equally often.
      for (const kind of roundOrder(kinds, round)) {
        const started = process.hrtime.bigint();
        const cpuStarted = process.cpuUsage();
        const mainCpuStarted = mainThreadCpuSeconds();
        await runCases(kind, round * perRound, Math.min(cases, (round + 1) * perRound), true);
        // The key store merges its journal of claims into the IIN index at an idle moment (after 200 ms without a
        // claim) or past 1,024 claims; the round's leftover is merged here and counted in the encrypted round (wall and
        // CPU), as a burst at full speed, with no idle moment, would pay it; shown apart too.
        if (kind === 'encrypted') {
          const mergeStarted = process.cpuUsage();
          merge.claims += keys.mergeClaims();
          const used = process.cpuUsage(mergeStarted);
          merge.cpuSeconds += (used.user + used.system) / 1e6;
        }
        roundSeconds[kind] = Number(process.hrtime.bigint() - started) / 1e9;
        seconds[kind] += roundSeconds[kind];
        const cpuUsed = process.cpuUsage(cpuStarted);
        cpuSeconds[kind] += (cpuUsed.user + cpuUsed.system) / 1e6;
        mainCpuSeconds[kind] += mainThreadCpuSeconds() - mainCpuStarted;
      }
      roundRatios.push(roundSeconds.plain / roundSeconds.encrypted);
    }
    progress.done();
    const acts = cases * 2;
    const commandsDetail =
      `${cases} cases filed and cancelled, ${CONCURRENCY} at a time, through the command service on the embedded ` +
      `log, ${Math.round(100 / returningEvery)} % of filings by a returning applicant (${cases - Math.floor(cases / returningEvery)} people), ` +
      `${kinds.join(', ')} in turn in ${rounds} rounds; wall s encrypted ${seconds.encrypted.toFixed(2)} / ` +
      `plain ${seconds.plain.toFixed(2)}, per-round ratios ${roundRatios.map((r) => r.toFixed(2)).join(', ')}; ` +
      `CPU per act encrypted ${((cpuSeconds.encrypted / acts) * 1e6).toFixed(1)} µs / plain ` +
      `${((cpuSeconds.plain / acts) * 1e6).toFixed(1)} µs, CPU ratio ${(cpuSeconds.plain / cpuSeconds.encrypted).toFixed(2)}×` +
      (Number.isNaN(mainCpuSeconds.plain)
        ? ''
        : `; main thread's CPU per act encrypted ${((mainCpuSeconds.encrypted / acts) * 1e6).toFixed(1)} µs / plain ` +
          `${((mainCpuSeconds.plain / acts) * 1e6).toFixed(1)} µs, ratio ${(mainCpuSeconds.plain / mainCpuSeconds.encrypted).toFixed(2)}×`) +
      `; of the encrypted figures, the journal of claims' leftover merged at each round's end: ${merge.claims} ` +
      `claims, ${((merge.cpuSeconds / acts) * 1e6).toFixed(1)} µs CPU per encrypted act; ${warmUp} cases of each ` +
      `kind run first as a warm-up, not measured; the kinds' order a Latin square over the rounds (roundOrder), ` +
      (rounds % balancedRounds(kinds.length) === 0 ? 'balanced' : `not balanced over ${rounds} rounds`);
    const vaultAlone = only
      ? 'the vault alone not run'
      : await vaultAloneDetail(join(ctx.workDir, 'pd-vault'), cases, returningEvery);
    const commandDetail = `${commandsDetail}; ${vaultAlone}`;
    process.stderr.write(`personal data: commands: ${commandDetail}\n`);
    if (stages)
      for (const kind of KINDS)
        process.stderr.write(`personal data: commands: ${kind}, mean wall µs per command: ${stages[kind].report()}\n`);
    const references = only ? [] : referenceFigures(acts, seconds, cpuSeconds, mainCpuSeconds);
    for (const figure of references) process.stderr.write(`personal data: commands: ${figure.detail}\n`);

    for (const log of Object.values(logs)) await log.close();

    await keys.close();
    // BENCH_PD_EVENTS=0: the command figure alone.
    const rebuild = process.env.BENCH_PD_EVENTS === '0' ? null : await rebuildFigure(ctx, reference, master);

    const results: BenchResult[] = [
      {
        name: 'personal data: commands with encryption',
        value: acts / seconds.encrypted,
        unit: 'acts/s',
        better: 'higher',
        baseline: { name: 'without encryption', value: acts / seconds.plain },
        target: { op: '>=', value: (0.9 * acts) / seconds.plain, text: '≥ 0.9× without (issue 22, by rate)' },
        detail: commandDetail,
      },
      ...references,
      ...(rebuild ? [rebuild] : []),
    ];
    return results;
  },
};

/** The kinds of command service each round runs: the figure's two, then its three references. */
const COMMAND_KINDS = ['plain', 'encrypted', 'same size', 'keys in memory', 'cipher alone'] as const;
type CommandKind = (typeof COMMAND_KINDS)[number];

/**
 * The encrypted figure's three references, run in the same rounds: plain acts made as large as encrypted ones (each
 * personal field replaced by an envelope of the same length, with no cipher and no key), which is the best any vault
 * could do with this envelope; the vault with its keys held in memory (the cipher and the blind index, no key store
 * file), which is what the key store's file adds; and the cipher alone (cipherAloneActs), the least any encryption of
 * these fields into this envelope on the command's path costs. No target: they say where the encrypted act's cost lies.
 */
function referenceFigures(
  acts: number,
  seconds: Record<CommandKind, number>,
  cpu: Record<CommandKind, number>,
  main: Record<CommandKind, number>,
): BenchResult[] {
  const perAct = (s: number) => `${((s / acts) * 1e6).toFixed(1)} µs`;
  const describe = (kind: CommandKind, what: string): BenchResult => ({
    name: `personal data: commands, reference: ${what}`,
    value: acts / seconds[kind],
    unit: 'acts/s',
    better: 'higher',
    baseline: { name: 'without encryption', value: acts / seconds.plain },
    detail:
      `${what}: ${(seconds.plain / seconds[kind]).toFixed(2)}× the plain acts' rate, the encrypted acts ` +
      `${(seconds[kind] / seconds.encrypted).toFixed(2)}× its rate; CPU per act ${perAct(cpu[kind])} (plain ` +
      `${perAct(cpu.plain)}, encrypted ${perAct(cpu.encrypted)})` +
      (Number.isNaN(main.plain)
        ? ''
        : `, main thread ${perAct(main[kind])} (plain ${perAct(main.plain)}, encrypted ${perAct(main.encrypted)})`),
  });
  return [
    describe('same size', 'acts as large as encrypted ones, unencrypted (no cipher, no key)'),
    describe('keys in memory', 'encrypted with the keys held in memory (no key store file)'),
    describe(
      'cipher alone',
      'encrypted under one key held in memory (the cipher alone: no person, no index, no store)',
    ),
  ];
}

/**
 * A reference kind's protection: each act's data stored as `dataOf` makes it, with no key store to wait for; its acts
 * read back as stored, and its ids derived from the caller as they are.
 */
function storedAs(
  dataOf: (caseId: string, type: string, data: Record<string, unknown>) => Record<string, unknown>,
): PersonalDataProtection {
  return {
    async protect(caseId, _iin, events) {
      return {
        events: events.map((e) => {
          const data = dataOf(caseId, e.type, e.data);
          return data === e.data ? e : { ...e, data };
        }),
        stored: Promise.resolve(),
      };
    },
    open: async (recorded) => [...recorded],
    idBasis: (principal) => principal.id,
  };
}

/**
 * The floor of any vault that seals each personal field in this envelope on the command's path: each personal field
 * sealed with AES-256-GCM into the vault's envelope, under one key made once and held in memory for everybody (no key
 * per person, no blind index, no key store, no claim to wait for). Not a design one could keep (one key for all erases
 * nobody); what the cipher and the envelope alone cost the acts.
 */
function cipherAloneActs(): PersonalDataProtection {
  const subject = { kid: newId(), key: newDataKey() };
  return storedAs((caseId, type, data) => protectData(caseId, type, data, subject));
}

/**
 * Acts stored as large as the vault stores them: each personal field replaced by an envelope of the same length (the
 * ciphertext's base64url length for the field's JSON) whose bytes are no ciphertext, under one made-up key id.
 */
function sameSizeActs(): PersonalDataProtection {
  const kid = '00000000-0000-7000-8000-000000000000';
  const pad = (bytes: number) => 'A'.repeat(Math.ceil((bytes * 4) / 3));
  return storedAs((_caseId, type, data) => {
    let out: Record<string, unknown> | null = null;
    for (const field of Object.keys(personalFieldsOf(type))) {
      const value = data[field];
      if (value === undefined) continue;
      out ??= { ...data };
      const ct = pad(Buffer.byteLength(JSON.stringify(value)));
      out[field] = { $enc: ENVELOPE_VERSION, kid, iv: pad(12), ct, tag: pad(16) };
    }
    return out ?? data;
  });
}

/**
 * A key store that holds everything in memory and writes nothing: each IIN's subject and each case's link in maps, a
 * fresh random key per new subject. Only what a filing asks of a key store; the rest is not part of the reference.
 */
class MemoryKeyStore implements PersonalKeyStore {
  readonly location = 'memory';
  private readonly subjects = new Map<string, { kid: string; key: Buffer }>();
  private readonly cases = new Map<string, { kid: string; key: Buffer }>();
  private readonly keys = new Map<string, Buffer>();
  constructor(readonly blindIndexKey: Buffer) {}

  async claimForCase(iinIndex: string, caseId: string): Promise<StoreSubject> {
    let subject = this.cases.get(caseId) ?? this.subjects.get(iinIndex);
    if (!subject) {
      subject = { kid: newId(), key: newDataKey() };
      this.subjects.set(iinIndex, subject);
      this.keys.set(subject.kid, subject.key);
    }
    this.cases.set(caseId, subject);
    return { ...subject, stored: Promise.resolve() };
  }
  async subjectForCase(iinIndex: string, caseId: string) {
    const { kid, key } = await this.claimForCase(iinIndex, caseId);
    return { kid, key };
  }
  async keysOf(kids: readonly string[]): Promise<Map<string, Buffer | null>> {
    return new Map(kids.map((kid) => [kid, this.keys.get(kid) ?? null]));
  }
  unknownSubjects = notInTheReference;
  subjectOfCase = notInTheReference;
  subjectsOfCases = notInTheReference;
  subjectsOf = notInTheReference;
  casesOf = notInTheReference;
  destroy = notInTheReference;
  rotate = notInTheReference;
  holdForErasure = notInTheReference;
  async close(): Promise<void> {}
}

function notInTheReference(): Promise<never> {
  return Promise.reject(new Error('not part of the reference'));
}

/**
 * The vault's own share of an encrypted act, apart from the log: the same applicants' filing and cancel protected 10 at
 * a time on a key store of its own (the claim, the subject's key from the pool, the blind index, AES-GCM, the erasure
 * check, the claims' commit each turn), each command waiting for its claim's commit as the command service does. Its
 * main-thread CPU per act is the part of the encrypted act's main-thread time the vault's code can cut; the rest of
 * the difference is the larger stored event (sealed, validated, handed to the log's writer).
 */
async function vaultAloneDetail(dir: string, cases: number, returningEvery: number): Promise<string> {
  mkdirSync(dir, { recursive: true });
  const keys = SqliteKeyStore.open(dir, newDataKey());
  const vault = new PersonalDataVault(keys);
  const now = new Date('2015-09-15T04:00:00Z');
  const mainStarted = mainThreadCpuSeconds();
  const cpuStarted = process.cpuUsage();
  for (let i = 0; i < cases; i += CONCURRENCY) {
    await Promise.all(
      Array.from({ length: Math.min(CONCURRENCY, cases - i) }, async (_, j) => {
        const n = i + j;
        const iin = personIin(applicantOf(n, returningEvery));
        const caseId = newId();
        const filed = await vault.protect(
          caseId,
          iin,
          [{ type: 'ApplicationSubmitted', data: { applicant: { iin, fullName: `Заявитель Номер ${n}` } } }],
          now,
        );
        await filed.stored;
        const cancelled = await vault.protect(
          caseId,
          iin,
          [{ type: 'ApplicationCancelled', data: { reason: `причина отзыва заявителя ${n}` } }],
          now,
        );
        await cancelled.stored;
      }),
    );
  }
  const cpu = process.cpuUsage(cpuStarted);
  const main = mainThreadCpuSeconds() - mainStarted;
  const mergeStarted = process.cpuUsage();
  keys.mergeClaims();
  const merged = process.cpuUsage(mergeStarted);
  await keys.close();
  rmSync(dir, { recursive: true, force: true });
  const acts = cases * 2;
  return (
    `the vault alone (the same acts protected, no log): CPU per act ${((cpu.user + cpu.system) / acts).toFixed(1)} µs` +
    (Number.isNaN(main) ? '' : `, main thread ${((main / acts) * 1e6).toFixed(1)} µs`) +
    `, and its journal's merge after it ${((merged.user + merged.system) / acts).toFixed(1)} µs per act`
  );
}

/** Kinds of log, in the order each round measures them. */
const KINDS = ['plain', 'encrypted'] as const;
type Kind = (typeof KINDS)[number];

/**
 * Two logs of about BENCH_PD_EVENTS events each (default: a tenth of BENCH_EVENTS), the same acts in the same order, one
 * with every act's personal fields encrypted under its applicant's subject key (one subject per case, through the real
 * key store, claimed as the command service claims it), one plain; then every read model rebuilt from scratch over
 * each (the `rebuild --all` work: the cases and compliance projections open each act's personal fields), alternating
 * plain / encrypted, each encrypted rebuild with a key store opened afresh (cold caches, as a rebuild process starts).
 */
async function rebuildFigure(ctx: BenchContext, reference: ReferenceData, master: Buffer): Promise<BenchResult> {
  const target = Number(process.env.BENCH_PD_EVENTS ?? Math.round(ctx.events / 10));
  const window = Number(process.env.BENCH_PD_WINDOW ?? 20_000);
  // BENCH_PD_KEY_CACHE: the rebuilds' key store caches this many subjects (default: the store's own size), to see what
  // a rebuild costs when its subjects do not fit.
  const keyCache = process.env.BENCH_PD_KEY_CACHE ? { cacheEntries: Number(process.env.BENCH_PD_KEY_CACHE) } : {};
  const dirs = { plain: join(ctx.workDir, 'rebuild-plain'), encrypted: join(ctx.workDir, 'rebuild-encrypted') };
  for (const dir of Object.values(dirs)) mkdirSync(dir, { recursive: true });
  const generated = await generateLogs(ctx, reference, dirs, master, target, window);

  const seconds = { plain: [] as number[], encrypted: [] as number[] };
  const cpu = { plain: [] as number[], encrypted: [] as number[] };
  const rounds = Number(process.env.BENCH_PD_REBUILDS ?? 2);
  const profileDir = process.env.BENCH_CPU_PROFILE;
  for (let round = 0; round < rounds; round++) {
    for (const kind of KINDS) {
      const log = openSqliteEventLog({ file: join(dirs[kind], 'events.db') });
      const keys = kind === 'encrypted' ? SqliteKeyStore.open(dirs.encrypted, master, keyCache) : null;
      const storeFile = join(dirs[kind], `read-${round}.db`);
      const store = openSqliteReadStore({ file: storeFile });
      const projections = allProjections(reference, keys ? new PersonalDataVault(keys) : undefined);
      const runtime = new ProjectionRuntime(log, store, projections, { retiredBuildGraceMs: 0 });
      const progress = ctx.progress(`rebuild ${projections.length} read models, ${kind} (${round + 1}/${rounds})`, 0);
      const profile = profileDir && round === 0 ? await startProfile() : null;
      const cpuBefore = process.cpuUsage();
      const started = process.hrtime.bigint();
      await runtime.rebuildMany(
        projections.map((p) => p.name),
        (p) => progress.update(p.position, p.head),
      );
      seconds[kind].push(Number(process.hrtime.bigint() - started) / 1e9);
      const used = process.cpuUsage(cpuBefore);
      cpu[kind].push((used.user + used.system) / 1e6);
      if (profile) await profile.stop(join(profileDir!, `pd-rebuild-${kind}.cpuprofile`));
      progress.done();
      // Each rebuild's figures as it ends: a long run shows what it has measured so far.
      process.stderr.write(
        `rebuild ${kind} ${round + 1}/${rounds}: ${seconds[kind].at(-1)!.toFixed(1)} s wall, ${cpu[kind].at(-1)!.toFixed(1)} s CPU\n`,
      );
      await runtime.stop();
      await store.close();
      await keys?.close();
      await log.close();
      for (const suffix of ['', '-wal', '-shm']) rmSync(`${storeFile}${suffix}`, { force: true });
    }
  }
  const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
  const list = (xs: number[]) => xs.map((x) => x.toFixed(1)).join(', ');
  const events = generated.events;
  const plainRate = (rounds * events) / sum(seconds.plain);
  const ratios = seconds.plain.map((p, i) => p / seconds.encrypted[i]!);
  const cpuRatio = sum(cpu.plain) / sum(cpu.encrypted);
  return {
    name: `personal data: rebuild of every read model over ${events.toLocaleString('en-US')} events with encrypted fields`,
    value: (rounds * events) / sum(seconds.encrypted),
    unit: 'events/s',
    better: 'higher',
    baseline: { name: 'the same rebuild without encryption', value: plainRate },
    target: {
      op: '>=',
      value: 0.8 * plainRate,
      // The figure is over 1M events; the default size (a tenth of BENCH_EVENTS) says so beside its verdict.
      text:
        events >= 1_000_000
          ? '≥ 0.8× without (issue 22)'
          : '≥ 0.8× without (issue 22 asks it over 1,000,000 events: BENCH_PD_EVENTS=1000000)',
    },
    detail:
      `${generated.cases.toLocaleString('en-US')} cases, one data subject each, ${window.toLocaleString('en-US')} in flight at a time; ` +
      (keyCache.cacheEntries ? `key store caches ${keyCache.cacheEntries.toLocaleString('en-US')} subjects; ` : '') +
      `${rounds} rebuilds of each, alternating; wall s encrypted [${list(seconds.encrypted)}] plain [${list(seconds.plain)}] ` +
      `(per-round ratios ${ratios.map((r) => r.toFixed(2)).join(', ')}); CPU s encrypted [${list(cpu.encrypted)}] ` +
      `plain [${list(cpu.plain)}], CPU ratio ${cpuRatio.toFixed(2)}×`,
  };
}

/**
 * The two logs, fast: cases decided by the domain (the audit-compliance generator's cases: every shipped regulation
 * version and track, one in ten left open), `window` cases at a time in flight, their acts interleaved in the log round
 * by round (each case's next act after every other in-flight case's), appended many at a time through the log adapter.
 * The same seed drives both logs, so they hold the same acts; the encrypted one's are encrypted before sealing.
 */
async function generateLogs(
  ctx: BenchContext,
  reference: ReferenceData,
  dirs: Record<Kind, string>,
  master: Buffer,
  targetEvents: number,
  window: number,
): Promise<{ cases: number; events: number }> {
  const combos = reference.catalog.versions.flatMap((v) =>
    v.tracks.map((t) => ({ version: v, trackId: t.id, path: mainPath(v, t.id) })),
  );
  const logs = {
    plain: openSqliteEventLog({ file: join(dirs.plain, 'events.db') }),
    encrypted: openSqliteEventLog({ file: join(dirs.encrypted, 'events.db') }),
  };
  const keys = SqliteKeyStore.open(dirs.encrypted, master);
  const vault = new PersonalDataVault(keys);
  const rngs = { plain: new Rng('bench-personal-data'), encrypted: new Rng('bench-personal-data') };
  const progress = ctx.progress('generate two logs (plain, encrypted)', targetEvents);
  let events = 0;
  let n = 0;
  try {
    while (events < targetEvents) {
      const first = n;
      const wave = { plain: [] as CaseEvent[][], encrypted: [] as CaseEvent[][] };
      while (n - first < window && events < targetEvents) {
        const combo = combos[n % combos.length]!;
        const caseId = `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;
        const subject = await keys.subjectForCase(vault.iinIndex(iinFor(n)), caseId, FILED_AT);
        const protect = (decided: DecidedEvent[]) =>
          decided.map((e) => ({ ...e, data: protectData(caseId, e.type, e.data, subject) }));
        for (const kind of KINDS) {
          const { events: acts } = simulateCase(
            reference,
            combo.version,
            combo.trackId,
            n,
            rngs[kind],
            combo.path,
            false,
            kind === 'encrypted' ? protect : undefined,
          );
          wave[kind].push(acts);
        }
        events += wave.plain.at(-1)!.length;
        progress.tick(wave.plain.at(-1)!.length);
        n++;
      }
      for (const kind of KINDS) {
        const longest = Math.max(...wave[kind].map((acts) => acts.length));
        for (let revision = 0; revision < longest; revision++) {
          const appends: Promise<unknown>[] = [];
          for (const acts of wave[kind]) {
            const act = acts[revision];
            if (!act) continue;
            appends.push(
              logs[kind].append(
                caseStreamId(act.metadata.caseId),
                [{ type: act.type, data: act.data, metadata: act.metadata }],
                revision === 0 ? 'no_stream' : revision - 1,
              ),
            );
          }
          await Promise.all(appends);
        }
      }
    }
    progress.done();
    return { cases: n, events };
  } finally {
    await keys.close();
    await logs.plain.close();
    await logs.encrypted.close();
  }
}

/**
 * The calling thread's CPU seconds (user and system) from Linux's /proc/thread-self/stat, in clock ticks of 10 ms: a
 * round of a second or more reads it to about 1 %. NaN where there is no such file.
 */
function mainThreadCpuSeconds(): number {
  try {
    const fields = readFileSync('/proc/thread-self/stat', 'utf8').split(') ')[1]!.split(' ');
    // utime and stime: the 14th and 15th fields of the line, the 12th and 13th after the command name.
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return Number.NaN;
  }
}

/**
 * Who files case n: the person numbered by the answer. Every `returningEvery`-th filing is by an earlier applicant (one
 * picked by a fixed spread over those seen so far), the others by the next person not seen before. Civil-service
 * applicants mostly file once and some come back (another test, a competition after the test), so most filings
 * bring a new data subject; the bench's earlier population (1,000 people for every run's cases) made nine filings in
 * ten of 3,000 reuse a subject, which a real day does not.
 */
export function applicantOf(n: number, returningEvery: number): number {
  if (!(returningEvery >= 2))
    throw new Error('BENCH_PD_RETURNING_EVERY: a whole number from 2 (every filing by a new person: a large one)');
  const newPeople = n + 1 - Math.floor((n + 1) / returningEvery);
  return (n + 1) % returningEvery === 0 ? (n * 7_919) % newPeople : newPeople - 1;
}

/** A distinct valid IIN for each person number: a birth date per number (1960 on), then a serial per 20,000 days. */
export function personIin(person: number): string {
  const born = new Date(Date.UTC(1960, 0, 1) + (person % 20_000) * 86_400_000);
  const yymmdd = born.toISOString().slice(2, 10).replace(/-/g, '');
  // makeIin takes the first serial from here with a valid check digit; 25 apart, two people never meet.
  return makeIin(yymmdd, 3, Math.floor(person / 20_000) * 25);
}

/**
 * With BENCH_PD_STAGES=1, each command's wall time split by stage: the vault's protect (the key store's claim and
 * the fields' encryption), the log's append (the writer thread's commit and fsync), the wait after the append for
 * the key store's commit of the claim and the link, and the rest (loading and deciding the case, sealing, answering).
 * Means over the run, so a round-to-round swing can be put down to the stage it comes from. The wrappers cost both
 * kinds alike (a Proxy call per append, a few clock reads), so the headline run leaves them out.
 */
function stageTimer() {
  const now = () => Number(process.hrtime.bigint()) / 1e3;
  const totals = { protect: 0, append: 0, storedWait: 0, total: 0, commands: 0 };
  const appendDone = new Map<string, number>();
  const storedDone = new Map<string, number>();
  return {
    now,
    log(log: EventLog): EventLog {
      return new Proxy(log, {
        get(target, property) {
          if (property !== 'append') {
            const value = Reflect.get(target, property, target) as unknown;
            return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
          }
          return async (...args: Parameters<EventLog['append']>) => {
            const started = now();
            try {
              return await target.append(...args);
            } finally {
              const done = now();
              totals.append += done - started;
              appendDone.set(args[0], done);
            }
          };
        },
      });
    },
    vault(vault: PersonalDataProtection): PersonalDataProtection {
      return {
        async protect(caseId, applicantIin, events, at) {
          const started = now();
          const protectedActs = await vault.protect(caseId, applicantIin, events, at);
          totals.protect += now() - started;
          const stored = protectedActs.stored.then(() => void storedDone.set(caseStreamId(caseId), now()));
          return { events: protectedActs.events, stored, settled: protectedActs.settled };
        },
        open: (recorded, access) => vault.open(recorded, access),
        idBasis: (principal) => vault.idBasis(principal),
      };
    },
    /** A command on the case answered now, begun at `started`. */
    command(caseId: string, started: number): void {
      const streamId = caseStreamId(caseId);
      const appended = appendDone.get(streamId);
      const stored = storedDone.get(streamId);
      if (appended !== undefined && stored !== undefined) totals.storedWait += Math.max(0, stored - appended);
      appendDone.delete(streamId);
      storedDone.delete(streamId);
      totals.total += now() - started;
      totals.commands++;
    },
    report(): string {
      const per = (x: number) => (x / Math.max(1, totals.commands)).toFixed(1);
      const rest = totals.total - totals.protect - totals.append - totals.storedWait;
      return (
        `total ${per(totals.total)} = protect ${per(totals.protect)} + append ${per(totals.append)} + ` +
        `wait for the key store's commit ${per(totals.storedWait)} + rest ${per(rest)} (${totals.commands} commands)`
      );
    },
  };
}

/** When the generator's subjects are claimed: the key store records it. */
const FILED_AT = new Date('2016-01-01T00:00:00Z');
