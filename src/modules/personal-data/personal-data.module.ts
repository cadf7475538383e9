/** Personal data: erasure and the retention report over HTTP, for administrators; the vault itself is infrastructure. */
import { Module, type DynamicModule } from '@nestjs/common';
import type { EventLog } from '../event-log/event-log.port';
import type { ReadModels } from '../../projections/read-models';
import type { ReferenceData } from '../regulations/domain/reference-data';
import type { PersonalDataVault } from './personal-data-vault';
import { CASES, CASES_PROJECTION, type CaseDocument } from '../cases/projections/cases.projection';
import type { ErasureDeps } from './commands/erase-subject';
import { ERASED } from './domain/personal-fields';
import { CLOSED_CASES, ERASURE_DEPS, PersonalDataController } from './http/personal-data.controller';

/** What erasure and the retention report need from the process that hosts them; app/ (or the CLI) provides it. */
export interface PersonalDataModuleDeps {
  eventLog: EventLog;
  personalData: PersonalDataVault;
  reference: Pick<ReferenceData, 'catalog'>;
  clock: () => Date;
  projections: { readModels: ReadModels };
}

export function erasureDeps(infra: PersonalDataModuleDeps): ErasureDeps {
  return {
    log: infra.eventLog,
    vault: infra.personalData,
    catalog: infra.reference.catalog,
    clock: infra.clock,
    casesByIinIndex: async (iinIndex) => {
      try {
        const cases = await infra.projections.readModels.collection<CaseDocument>(CASES_PROJECTION, CASES);
        return (await cases.find({ applicantIin: iinIndex }, { projection: { _id: 1 } })).map((d) => String(d._id));
      } catch {
        // The read model is not built yet: only the cases the key store links are found.
        return null;
      }
    },
    iinIndexesOfCases: async (caseIds) => {
      if (caseIds.length === 0) return new Map();
      try {
        const cases = await infra.projections.readModels.collection<CaseDocument>(CASES_PROJECTION, CASES);
        const docs = await cases.find({ _id: { $in: [...caseIds] } }, { projection: { _id: 1, applicantIin: 1 } });
        return new Map(docs.map((d) => [String(d._id), String(d.applicantIin)]));
      } catch {
        // As above: a subject named by id is then erased alone, its cases filed in clear not found.
        return null;
      }
    },
  };
}

/** Closed cases whose applicant is not erased, from the cases read model: the retention report's candidates. */
export function closedCases(infra: PersonalDataModuleDeps): () => Promise<string[]> {
  return async () => {
    const cases = await infra.projections.readModels.collection<CaseDocument>(CASES_PROJECTION, CASES);
    return (
      await cases.find({ status: { $ne: 'open' }, applicantIin: { $ne: ERASED } }, { projection: { _id: 1 } })
    ).map((d) => String(d._id));
  };
}

@Module({})
export class PersonalDataModule {
  static register(infra: PersonalDataModuleDeps): DynamicModule {
    return {
      module: PersonalDataModule,
      controllers: [PersonalDataController],
      providers: [
        { provide: ERASURE_DEPS, useValue: erasureDeps(infra) },
        { provide: CLOSED_CASES, useValue: closedCases(infra) },
      ],
    };
  }
}
