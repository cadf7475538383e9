/**
 * An applicant's worklist while readers are on a compliance build from before the blind index (its open steps hold the
 * IIN in clear, served only while the rebuild to the current version runs): it is found by the clear IIN nowhere, and
 * answered 503 until the rebuild is done; staff's worklists read that build as before.
 */
import { join } from 'node:path';
import { loadCalendars } from '../calendar/domain/load-calendar';
import { loadCatalog } from '../regulations/domain/catalog';
import type { ModelAccess } from '../../projections/read-model-access';
import type { Filter } from '../read-store/read-store.port';
import type { Principal } from '../identity/domain/principal';
import { ProblemError } from '../../shared/problem/problem';
import { makeIin } from '../../../test/support/case-specification';
import { ComplianceQueries } from './compliance.queries';
import { OPEN_STEPS_BY_BLIND_INDEX } from './compliance.projection';

const DATA = join(__dirname, '../../../data');
const reference = {
  catalog: loadCatalog(join(DATA, 'regulations')),
  calendar: loadCalendars(join(DATA, 'calendars')).get('KZ')!,
};
const iin = makeIin('880101', 3, 77);
const applicant: Principal = { id: `egov-${iin}`, name: 'A', roles: ['applicant'], iin };
const clerk: Principal = { id: 'clerk-1', name: 'C', roles: ['registry-clerk'], unit: 'astana' };

/** The worklist's queries on a model whose active build is `version`, each filter it sent recorded. */
function worklistOn(version: number) {
  const filters: Filter[] = [];
  const openSteps = {
    find: async (filter: Filter) => {
      filters.push(filter);
      return [];
    },
  };
  const model = {
    staleness: async () => ({ position: 1, at: null }),
    read: async () => ({ position: 1, version, mark: null, collection: () => openSteps }),
    collection: async () => openSteps,
  } as unknown as ModelAccess;
  const queries = new ComplianceQueries(
    model,
    reference,
    () => new Date(),
    () => 'the blind index',
  );
  return { filters, worklist: (principal: Principal) => queries.worklist(principal, 50) };
}

it('an applicant is answered 503 on a build whose open steps hold IINs in clear, and no filter holds their IIN', async () => {
  const old = worklistOn(OPEN_STEPS_BY_BLIND_INDEX - 1);
  const refused = await old.worklist(applicant).catch((error: unknown) => error);
  expect(refused).toBeInstanceOf(ProblemError);
  expect(refused).toMatchObject({ status: 503, code: 'read-model-not-ready' });
  expect((await old.worklist(clerk)).total).toBe(0);
  expect(old.filters).toEqual([{ unit: 'astana', roles: { $in: ['registry-clerk'] } }]);
});

it("on a build with the blind index an applicant's open steps are found by it alone", async () => {
  const current = worklistOn(OPEN_STEPS_BY_BLIND_INDEX);
  await current.worklist(applicant);
  expect(current.filters).toEqual([{ applicantIin: 'the blind index', roles: 'applicant' }]);
  expect(JSON.stringify(current.filters)).not.toContain(iin);
});
