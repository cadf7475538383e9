/** What a citizen's Idempotency-Key ids are derived from: their token's subject keyed, stable per subject and key. */
import { randomBytes } from 'node:crypto';
import { idBasis } from './citizen-ids';

const key = randomBytes(32);
const citizen = { id: 'egov-880101300123', name: 'Сәрсенова Әлия', roles: ['applicant' as const], iin: '880101300123' };

it("a citizen's basis is one keyed digest per token subject and key, which names neither; so is that of staff who are also an applicant (their token carries an IIN); other staff keep their subject", () => {
  const basis = idBasis(key, citizen);
  expect(basis).toMatch(/^citizen:[0-9a-f]{64}$/);
  expect(idBasis(key, citizen)).toBe(basis);
  expect(idBasis(randomBytes(32), citizen)).not.toBe(basis);
  expect(idBasis(key, { ...citizen, id: 'egov-900101400123' })).not.toBe(basis);
  expect(idBasis(key, { id: 'clerk-1', name: 'Клерк', roles: ['registry-clerk'], unit: 'hq' })).toBe('clerk-1');
  expect(idBasis(key, { ...citizen, roles: ['applicant', 'registry-clerk'], unit: 'hq' })).toBe(basis);
});
