/** The verifiable log's HTTP edge, mounted where this process keeps the log's tree (the embedded event log). */
import { Module, type DynamicModule } from '@nestjs/common';
import type { EventLog } from '../event-log/event-log.port';
import type { TransparencyLog } from './transparency-log';
import {
  TRANSPARENCY_ACCESS,
  TRANSPARENCY_EVENT_LOG,
  TRANSPARENCY_LOG,
  TransparencyAccessGuard,
  TransparencyController,
} from './http/transparency.controller';

@Module({})
export class TransparencyModule {
  /** `eventLog`: where a request for a case's evidence proofs finds the case (its unit) and its events. */
  static register(log: TransparencyLog | null, access: 'public' | 'auditor', eventLog: EventLog): DynamicModule {
    if (!log) return { module: TransparencyModule };
    return {
      module: TransparencyModule,
      controllers: [TransparencyController],
      providers: [
        { provide: TRANSPARENCY_LOG, useValue: log },
        { provide: TRANSPARENCY_ACCESS, useValue: access },
        { provide: TRANSPARENCY_EVENT_LOG, useValue: eventLog },
        TransparencyAccessGuard,
      ],
    };
  }
}
