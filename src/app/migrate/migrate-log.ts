/**
 * Copies an event log into another store (a new SQLite file, EventStoreDB) through the EventLog port, so every
 * target goes through the same code: the same event ids, stream revisions and data/metadata text, in the source's
 * global order (each append is a run of consecutive events of one stream, so the order is kept event by event), each
 * append within the stores' limits (MAX_EVENTS_PER_APPEND events, KurrentDB's 1 MiB per append).
 *
 * Resumable: a copy that stopped (a crash, a kill) is continued from the target's last event, found again in the
 * source by its stream and revision; its id must be the same there, or the target holds something else and is refused.
 * Appends are atomic and carry the source's event ids, so an append cut off by a crash is either whole or absent.
 */
import type { EventLog, EventToAppend, RecordedEvent } from '../../modules/event-log/event-log.port';
import { MAX_EVENTS_PER_APPEND } from '../../modules/event-log/event-validation';

/** KurrentDB's default MaxAppendSize; below it with room for its per-event overhead (the adapter counts it exactly). */
export const MIGRATE_APPEND_BYTES = 1024 * 1024 - 64 * 1024;

export interface MigrateProgress {
  /** Events in the target. */
  copied: number;
  /** Source position reached, and the source's head when the copy started. */
  position: number;
  head: number;
}

/** The target is not a copy of the source's beginning: it must be empty or a copy this command started. */
export class MigrationTargetMismatchError extends Error {
  override readonly name = 'MigrationTargetMismatchError';
  readonly exitCode = 65;
}

/** The copy differs from the source (an event's text, id or revision). */
export class MigrationCopyMismatchError extends Error {
  override readonly name = 'MigrationCopyMismatchError';
  readonly exitCode = 65;
}

export interface MigrateOptions {
  pageSize?: number;
  onProgress?: (progress: MigrateProgress) => void;
  /** Stops after this many appends (tests: a run cut off part way, as a crash would). */
  stopAfterAppends?: number;
}

/** Where to continue: after the source position of the target's last event (0 for an empty target). */
async function resumePoint(source: EventLog, target: EventLog): Promise<{ after: number }> {
  const last = await target.lastEvent();
  if (!last) return { after: 0 };
  const [same] = await source.readStream(last.streamId, {
    fromRevision: last.revision,
    toRevision: last.revision,
    maxCount: 1,
  });
  if (!same || same.id !== last.id) {
    throw new MigrationTargetMismatchError(
      `the target's last event (${last.id}, ${last.streamId} revision ${last.revision}) is not the source's event there (${same ? same.id : 'none'}): the target holds other events; give an empty target`,
    );
  }
  return { after: same.position };
}

function size(event: RecordedEvent): number {
  return (
    Buffer.byteLength(JSON.stringify(event.data)) +
    Buffer.byteLength(JSON.stringify(event.metadata)) +
    Buffer.byteLength(event.type) * 2
  );
}

/** Copies what the target lacks; returns how many events this run copied and where it resumed. */
export async function migrateLog(
  source: EventLog,
  target: EventLog,
  options: MigrateOptions = {},
): Promise<{ copied: number; resumedAfter: number; appends: number; complete: boolean }> {
  const pageSize = options.pageSize ?? 2000;
  const head = await source.headPosition();
  const { after: resumedAfter } = await resumePoint(source, target);
  let after = resumedAfter;
  let copied = 0;
  let appends = 0;
  for (;;) {
    const page = await source.readAll({ after, maxCount: pageSize });
    if (page.length === 0) break;
    let i = 0;
    while (i < page.length) {
      const first = page[i]!;
      const run: RecordedEvent[] = [first];
      let bytes = size(first);
      while (i + run.length < page.length) {
        const next = page[i + run.length]!;
        if (
          next.streamId !== first.streamId ||
          run.length >= MAX_EVENTS_PER_APPEND ||
          bytes + size(next) > MIGRATE_APPEND_BYTES
        )
          break;
        run.push(next);
        bytes += size(next);
      }
      const events: EventToAppend[] = run.map((e) => ({ id: e.id, type: e.type, data: e.data, metadata: e.metadata }));
      const result = await target.append(
        first.streamId,
        events,
        first.revision === 0 ? 'no_stream' : first.revision - 1,
      );
      if (result.nextRevision !== run[run.length - 1]!.revision) {
        throw new MigrationCopyMismatchError(
          `${first.streamId}: the target stored revision ${result.nextRevision}, the source has ${run[run.length - 1]!.revision}`,
        );
      }
      appends++;
      copied += run.length;
      i += run.length;
      after = run[run.length - 1]!.position;
      options.onProgress?.({ copied, position: after, head });
      if (options.stopAfterAppends !== undefined && appends >= options.stopAfterAppends)
        return { copied, resumedAfter, appends, complete: false };
    }
  }
  return { copied, resumedAfter, appends, complete: true };
}

/**
 * Compares the two logs event by event in global order: the same ids, streams, revisions, types, and data and metadata
 * as the same text (the stored text where both stores give it). Returns the number of events compared.
 */
export async function compareLogs(
  source: EventLog,
  target: EventLog,
  onProgress?: (events: number) => void,
): Promise<number> {
  const pageSize = 2000;
  let afterSource = 0;
  let afterTarget = 0;
  let compared = 0;
  const raw = source.readAllRaw && target.readAllRaw;
  for (;;) {
    const [a, b] = raw
      ? await Promise.all([
          source.readAllRaw!({ after: afterSource, maxCount: pageSize }),
          target.readAllRaw!({ after: afterTarget, maxCount: pageSize }),
        ])
      : (
          await Promise.all([
            source.readAll({ after: afterSource, maxCount: pageSize }),
            target.readAll({ after: afterTarget, maxCount: pageSize }),
          ])
        ).map((page) =>
          page.map((e) => ({ ...e, data: JSON.stringify(e.data), metadata: JSON.stringify(e.metadata) })),
        );
    if (a.length !== b.length) {
      // Pages are in the same order and of the same size while the logs agree; a shorter one means a missing event.
      throw new MigrationCopyMismatchError(
        `after ${compared + Math.min(a.length, b.length)} events the ${a.length > b.length ? 'target' : 'source'} has no more events`,
      );
    }
    if (a.length === 0) return compared;
    for (let k = 0; k < a.length; k++) {
      const x = a[k]!;
      const y = b[k]!;
      if (
        x.id !== y.id ||
        x.streamId !== y.streamId ||
        x.revision !== y.revision ||
        x.type !== y.type ||
        x.data !== y.data ||
        x.metadata !== y.metadata
      ) {
        throw new MigrationCopyMismatchError(
          `event ${compared + k + 1} differs: source ${x.id} (${x.streamId} revision ${x.revision}), target ${y.id} (${y.streamId} revision ${y.revision})`,
        );
      }
    }
    compared += a.length;
    afterSource = a[a.length - 1]!.position;
    afterTarget = b[b.length - 1]!.position;
    onProgress?.(compared);
  }
}
