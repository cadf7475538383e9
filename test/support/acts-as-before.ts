/**
 * Acts recorded as the command service recorded them before the case's applicant was recorded as such: the actor as
 * the citizen's token named them (subject and name), the ids an Idempotency-Key gives derived from the bare subject,
 * personal fields in clear. Decided by the real domain and sealed by the real hash chain, so they verify.
 */
import type { EventLog } from '../../src/modules/event-log/event-log.port';
import type { Catalog } from '../../src/modules/regulations/domain/catalog';
import type { WorkingCalendar } from '../../src/modules/calendar/domain/working-calendar';
import type { Principal } from '../../src/modules/identity/domain/principal';
import { CaseRepository } from '../../src/modules/cases/commands/case-repository';
import { idempotentId } from '../../src/modules/cases/commands/case-command-service';
import { caseStreamId } from '../../src/modules/cases/domain/case-event';
import { decide, type CaseCommand } from '../../src/modules/cases/domain/decide';
import { sealEvents } from '../../src/modules/cases/domain/hash-chain';

export async function recordAsBefore(
  deps: { log: EventLog; catalog: Catalog; calendar: WorkingCalendar },
  citizen: Principal,
  caseId: string,
  command: CaseCommand,
  idempotencyKey?: string,
): Promise<void> {
  const loaded = await new CaseRepository(deps.log, deps.catalog).load(caseId);
  const now = new Date();
  const outcome = decide(loaded?.state ?? null, command, {
    catalog: deps.catalog,
    zone: deps.calendar.timeZone,
    covers: (date) => deps.calendar.covers(date),
    calendar: deps.calendar,
    now,
    principal: citizen,
  });
  if (!outcome.ok) throw new Error(`refused: ${JSON.stringify(outcome)}`);
  const sealed = sealEvents(
    outcome.events.map((e) => ({ ...e, actor: { id: citizen.id, name: citizen.name, role: 'applicant' } })),
    {
      caseId,
      versionId: outcome.version.versionId,
      previous: loaded ? { revision: loaded.state.revision, hash: loaded.state.lastHash } : null,
      now,
      backDatedAfterMs: 86_400_000,
      correlationId: 'recorded-as-before',
      causationId: 'recorded-as-before',
      ...(idempotencyKey
        ? { idempotency: { key: idempotencyKey, fingerprint: `fingerprint of ${idempotencyKey}` } }
        : {}),
    },
  );
  await deps.log.append(
    caseStreamId(caseId),
    sealed.map((e, i) => ({
      id: idempotencyKey ? idempotentId('event', citizen.id, `${idempotencyKey}\n${i}`) : undefined,
      type: e.type,
      data: e.data,
      metadata: e.metadata,
    })),
    loaded ? loaded.state.revision : 'no_stream',
  );
}
