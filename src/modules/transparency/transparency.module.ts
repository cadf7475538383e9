/** The verifiable log's HTTP edge, mounted where this process keeps the log's tree (the embedded event log). */
import { Module, type DynamicModule } from '@nestjs/common';
import type { TransparencyLog } from './transparency-log';
import {
  TRANSPARENCY_ACCESS,
  TRANSPARENCY_LOG,
  TransparencyAccessGuard,
  TransparencyController,
} from './http/transparency.controller';

@Module({})
export class TransparencyModule {
  static register(log: TransparencyLog | null, access: 'public' | 'auditor'): DynamicModule {
    if (!log) return { module: TransparencyModule };
    return {
      module: TransparencyModule,
      controllers: [TransparencyController],
      providers: [
        { provide: TRANSPARENCY_LOG, useValue: log },
        { provide: TRANSPARENCY_ACCESS, useValue: access },
        TransparencyAccessGuard,
      ],
    };
  }
}
