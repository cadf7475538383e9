import type { EventLog } from './event-log.port';

/** The stream where an operator's acceptance of lost events is recorded, in the log itself. */
export const LOG_INTEGRITY_STREAM = 'log-integrity';
export const LOG_LOSS_ACCEPTED = 'EventLogLossAccepted';

/** What `accept-log-loss` records: what was acknowledged, what the log held instead, who accepted it and why. */
export interface LogLossAccepted {
  acknowledgedPosition: number;
  acknowledgedEventId: string | null;
  witnesses: string[];
  headPosition: number;
  headEventId: string | null;
  missingEvents: number;
  reason: string;
  acceptedBy: string;
}

/** The most recent recorded acceptance, or null: positions recorded up to its `acknowledgedPosition` are no longer required of the log. */
export async function latestAcceptedLoss(log: EventLog): Promise<LogLossAccepted | null> {
  const [last] = await log.readStream(LOG_INTEGRITY_STREAM, { direction: 'backwards', maxCount: 1 });
  return last?.type === LOG_LOSS_ACCEPTED ? (last.data as LogLossAccepted) : null;
}
