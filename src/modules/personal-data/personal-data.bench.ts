/**
 * The price of encrypting personal data, each figure beside the same work without encryption in the same run:
 * command throughput (filing and cancelling cases through the command service on the embedded log, 10 at a time),
 * and a rebuild of the cases projection over those logs (every act's personal fields opened with the key store).
 * Cases: BENCH_PD_CASES (default: a fiftieth of BENCH_EVENTS, at least 2,000), two acts each.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { BenchResult, BenchSuite } from '../../bench/bench-kit';
import { loadConfig } from '../../shared/config/config';
import { createLogger } from '../../shared/logging/logger';
import { loadReferenceData } from '../../app/reference-data';
import { allProjections } from '../../app/projections';
import { ProjectionRuntime } from '../../projections/projection-runtime';
import { CaseCommandService } from '../cases/commands/case-command-service';
import { makeIin } from '../identity/domain/iin';
import { openSqliteEventLog } from '../event-log/sqlite/sqlite-event-log';
import type { Principal } from '../identity/domain/principal';
import { openSqliteReadStore } from '../read-store/sqlite/sqlite-read-store';
import { newDataKey } from './domain/key-wrapping';
import { SqliteKeyStore } from './keys/sqlite-key-store';
import { PersonalDataVault } from './personal-data-vault';

const CONCURRENCY = 10;

export const personalDataBench: BenchSuite = {
  name: 'personal data',
  async run(ctx) {
    const cases = Number(process.env.BENCH_PD_CASES ?? Math.max(2000, Math.round(ctx.events / 50)));
    const reference = loadReferenceData(loadConfig({}));
    const logger = createLogger('silent');
    const dirs = { plain: join(ctx.workDir, 'pd-plain'), encrypted: join(ctx.workDir, 'pd-encrypted') };
    for (const dir of Object.values(dirs)) mkdirSync(dir, { recursive: true });
    const keys = SqliteKeyStore.open(dirs.encrypted, newDataKey());
    const vault = new PersonalDataVault(keys);
    const logs = {
      plain: openSqliteEventLog({ file: join(dirs.plain, 'events.db') }),
      encrypted: openSqliteEventLog({ file: join(dirs.encrypted, 'events.db') }),
    };
    const services = {
      plain: new CaseCommandService(logs.plain, reference.catalog, reference.calendar, {
        backDatedAfterMs: 86_400_000,
      }),
      encrypted: new CaseCommandService(logs.encrypted, reference.catalog, reference.calendar, {
        backDatedAfterMs: 86_400_000,
        personalData: vault,
      }),
    };
    const progress = ctx.progress('personal data: commands', cases * 2);
    const seconds = { plain: 0, encrypted: 0 };
    // Alternating rounds of the same work, so a busy moment of the shared machine falls on both alike.
    const rounds = 4;
    const perRound = Math.ceil(cases / rounds);
    for (let round = 0; round < rounds; round++) {
      for (const kind of ['plain', 'encrypted'] as const) {
        const started = process.hrtime.bigint();
        for (let i = round * perRound; i < Math.min(cases, (round + 1) * perRound); i += CONCURRENCY) {
          await Promise.all(
            Array.from({ length: Math.min(CONCURRENCY, cases - i) }, async (_, j) => {
              const n = i + j;
              const iin = makeIin('850101', 3, n % 1000);
              const who: Principal = { id: `citizen-${n}`, name: 'citizen', roles: ['applicant'], iin };
              const filed = await services[kind].submit(who, {
                serviceId: 'civil-service-testing',
                channel: 'portal',
                unit: 'astana-hq',
                applicant: { iin, fullName: `Заявитель Номер ${n}` },
                occurredAt: new Date('2015-09-15T04:00:00Z'),
              });
              if (!filed.ok) throw new Error(JSON.stringify(filed.refusal));
              const cancelled = await services[kind].cancel(who, filed.accepted.caseId, {
                occurredAt: new Date('2015-09-15T09:00:00Z'),
                reason: `причина отзыва заявителя ${n}`,
              });
              if (!cancelled.ok) throw new Error(JSON.stringify(cancelled.refusal));
              progress.tick();
            }),
          );
        }
        seconds[kind] += Number(process.hrtime.bigint() - started) / 1e9;
      }
    }
    progress.done();

    const rebuildSeconds = { plain: 0, encrypted: 0 };
    for (const kind of ['plain', 'encrypted', 'plain', 'encrypted'] as const) {
      const store = openSqliteReadStore({ file: join(dirs[kind], `read-${Date.now()}.db`) });
      const runtime = new ProjectionRuntime(
        logs[kind],
        store,
        allProjections(reference, kind === 'encrypted' ? vault : undefined),
        { logger },
      );
      const started = process.hrtime.bigint();
      await runtime.rebuild('cases');
      rebuildSeconds[kind] += Number(process.hrtime.bigint() - started) / 1e9;
      await store.close();
    }
    await logs.plain.close();
    await logs.encrypted.close();
    await keys.close();

    const acts = cases * 2;
    const results: BenchResult[] = [
      {
        name: 'personal data: commands with encryption',
        value: acts / seconds.encrypted,
        unit: 'acts/s',
        better: 'higher',
        baseline: { name: 'without encryption', value: acts / seconds.plain },
        target: { op: '>=', value: (0.9 * acts) / seconds.plain, text: '≥ 0.9× without' },
        detail: `${cases} cases filed and cancelled, ${CONCURRENCY} at a time, through the command service on the embedded log`,
      },
      {
        name: 'personal data: cases rebuild with encrypted fields',
        value: (2 * acts) / rebuildSeconds.encrypted,
        unit: 'events/s',
        better: 'higher',
        baseline: { name: 'without encryption', value: (2 * acts) / rebuildSeconds.plain },
        target: { op: '>=', value: (0.8 * 2 * acts) / rebuildSeconds.plain, text: '≥ 0.8× without' },
        detail: `two rebuilds each of ${acts} events, alternating`,
      },
    ];
    return results;
  },
};
