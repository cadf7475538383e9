/** A case's history as a download (the dashboard's history table): headings in ru/kk/en, times local with their offset. */
import type { TimeZone } from '../../calendar/domain/time-zone';
import { isRole, ROLES } from '../../identity/domain/principal';
import { isCaseApplicantActor } from '../../cases/domain/case-event';
import type { ExportColumn } from '../../../shared/http/table-export';

export interface HistoryRow {
  revision: number;
  type: string;
  label: { ru: string; kk: string } | null;
  citation: { ru: string; kk: string; en: string } | null;
  metadata: Record<string, unknown>;
}

const h = (ru: string, kk: string, en: string) => ({ ru, kk, en });
const actor = (r: HistoryRow) =>
  (r.metadata.actor ?? {}) as { id?: string; name?: string; role?: string; unit?: string };

export function historyColumns(zone: TimeZone): ExportColumn<HistoryRow>[] {
  const local = (value: unknown) =>
    typeof value === 'string' && !Number.isNaN(Date.parse(value)) ? zone.formatLocal(new Date(value)) : null;
  return [
    { heading: h('№', '№', '#'), value: (r) => r.revision },
    {
      heading: h('Событие', 'Оқиға', 'Event'),
      value: (r, lang) => (r.label && lang !== 'en' ? r.label[lang] : r.type),
    },
    {
      heading: h('Исполнитель', 'Орындаушы', 'Actor'),
      // The case's applicant acting on their own case is recorded by no name of theirs: their role's label says who.
      value: (r, lang) =>
        isCaseApplicantActor(actor(r)) && lang !== 'en' ? ROLES.applicant[lang] : (actor(r).name ?? null),
    },
    {
      heading: h('Роль', 'Рөл', 'Role'),
      value: (r, lang) => {
        const role = actor(r).role;
        return role && isRole(role) && lang !== 'en' ? ROLES[role][lang] : (role ?? null);
      },
    },
    { heading: h('Подразделение', 'Бөлімше', 'Unit'), value: (r) => actor(r).unit ?? null },
    { heading: h('Произошло', 'Болған уақыты', 'Occurred'), value: (r) => local(r.metadata.occurredAt) },
    { heading: h('Записано', 'Жазылған уақыты', 'Recorded'), value: (r) => local(r.metadata.recordedAt) },
    {
      heading: h('Задним числом', 'Кейінгі күнмен', 'Back-dated'),
      value: (r, lang) => (r.metadata.backDated ? { ru: 'да', kk: 'иә', en: 'yes' }[lang] : ''),
    },
    { heading: h('Пункт', 'Тармақ', 'Clause'), value: (r, lang) => r.citation?.[lang] ?? null },
    { heading: h('Хеш', 'Хэш', 'Hash'), value: (r) => (typeof r.metadata.hash === 'string' ? r.metadata.hash : null) },
  ];
}
