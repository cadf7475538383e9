import type { Logger } from 'pino';
import type { EventLog } from '../modules/event-log/event-log.port';
import { StorageDamagedError, StorageFullError } from '../modules/event-log/event-log.errors';

export const STORAGE_FAULTS = Symbol('STORAGE_FAULTS');

export interface StorageFault {
  kind: 'full' | 'damaged';
  file: string;
  detail: string;
  since: string;
  /** Writes refused since the fault was first seen. */
  refused: number;
}

/**
 * The event log's storage faults as this process last met them: a full disk (writes are refused until one
 * succeeds again) or a damaged file (writes are refused until the log is repaired and the process restarted).
 * Each fault is logged once when it starts and once when it clears, not once per request; /health reports it.
 */
export class StorageFaults {
  private fault: StorageFault | null = null;
  private readStoreFault: Omit<StorageFault, 'refused'> | null = null;

  constructor(private readonly logger: Pick<Logger, 'error' | 'warn' | 'info'>) {}

  get current(): StorageFault | null {
    return this.fault;
  }

  /** The read store's disk as the projections last found it (they wait a full one out and log it themselves). */
  get readStore(): Omit<StorageFault, 'refused'> | null {
    return this.readStoreFault;
  }

  readStoreFull(file: string, detail: string | null): void {
    if (detail === null) this.readStoreFault = null;
    else this.readStoreFault ??= { kind: 'full', file, detail, since: new Date().toISOString() };
  }

  /** Records a storage error; true when it is one (the caller then answers 503 without logging a stack). */
  saw(error: unknown): boolean {
    const kind = error instanceof StorageFullError ? 'full' : error instanceof StorageDamagedError ? 'damaged' : null;
    if (!kind) return false;
    if (this.fault && (this.fault.kind === kind || this.fault.kind === 'damaged')) {
      this.fault.refused++;
      return true;
    }
    const detail =
      error instanceof StorageFullError ? error.detail : (error as StorageDamagedError).problems.join('; ');
    this.fault = {
      kind,
      file: (error as StorageFullError | StorageDamagedError).file,
      detail,
      since: new Date().toISOString(),
      refused: 1,
    };
    if (kind === 'full')
      this.logger.error(
        { storage: this.fault },
        "the event log's disk is full: writes are answered 503 storage-full until space is freed",
      );
    else
      this.logger.error(
        { storage: this.fault },
        'the event log is damaged: writes are refused (503 storage-damaged); stop the service and run `npm run cli -- check`',
      );
    return true;
  }

  /** A write went through: a full disk has been given space again. */
  wrote(): void {
    if (this.fault?.kind !== 'full') return;
    this.logger.info(
      { storage: this.fault, clearedAt: new Date().toISOString() },
      "the event log's disk has space again: writes are accepted",
    );
    this.fault = null;
  }
}

/** The log as the API uses it: appends report their storage faults, and a damaged log refuses appends outright. */
export function watchStorageFaults(log: EventLog, faults: StorageFaults): EventLog {
  return new Proxy(log, {
    get(target, property, receiver) {
      if (property === 'append') {
        return async (...args: Parameters<EventLog['append']>) => {
          const fault = faults.current;
          if (fault?.kind === 'damaged') {
            fault.refused++;
            throw new StorageDamagedError(fault.file, [fault.detail]);
          }
          try {
            const result = await target.append(...args);
            faults.wrote();
            return result;
          } catch (error) {
            faults.saw(error);
            throw error;
          }
        };
      }
      const value = Reflect.get(target, property, receiver);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}
