/** The columns of each dashboard table as a download: headings in ru/kk/en, times in Asia/Almaty with their offset. */
import type { TimeZone } from '../../calendar/domain/time-zone';
import { ROLES, isRole } from '../../identity/domain/principal';
import type { ComplianceQueries } from '../compliance.queries';
import type { SummaryRow } from '../domain/summary';
import type { ExportColumn, ExportLanguage } from '../../../shared/http/table-export';

type Row<K extends 'overdueAll' | 'atRiskAll' | 'stepCasesAll'> =
  ReturnType<ComplianceQueries[K]> extends AsyncGenerator<infer R> ? R : never;
type Labelled = { label?: { ru: string | null; kk: string | null; en?: string } | null };

/** SLA statuses as the dashboard names them. */
export const STATUS_LABELS: Record<string, Record<ExportLanguage, string>> = {
  met: { ru: 'в срок', kk: 'мерзімінде', en: 'met' },
  breached: { ru: 'нарушено', kk: 'бұзылды', en: 'breached' },
  open: { ru: 'в работе', kk: 'жұмыста', en: 'open' },
  overdue: { ru: 'просрочено', kk: 'мерзімі өткен', en: 'overdue' },
  'not-applicable': { ru: 'не применяется', kk: 'қолданылмайды', en: 'not applicable' },
  waiting: { ru: 'ждёт даты отсчёта', kk: 'есептеу басталатын күнді күтуде', en: 'waiting for its start date' },
};

const h = (ru: string, kk: string, en: string) => ({ ru, kk, en });
// The catalog labels steps and services in Russian and Kazakh; English readers get the Russian, as on the page,
// unless the label has English (channels do).
const labelIn = (row: Labelled, lang: ExportLanguage, fallback: string) =>
  (row.label ? (lang === 'kk' ? row.label.kk : lang === 'en' ? (row.label.en ?? row.label.ru) : row.label.ru) : null) ??
  fallback;
const roleIn = (role: string, lang: ExportLanguage) => (isRole(role) && lang !== 'en' ? ROLES[role][lang] : role);

export function complianceExports(zone: TimeZone) {
  const local = (iso: string | null) => (iso ? zone.formatLocal(new Date(iso)) : null);
  const caseColumns = [
    { heading: h('Расписка', 'Қолхат', 'Receipt'), value: (r: { receiptNumber: string }) => r.receiptNumber },
    { heading: h('Дело', 'Іс', 'Case'), value: (r: { caseId: string }) => r.caseId },
  ];
  const openRow = <R extends Row<'overdueAll'> | Row<'atRiskAll'>>(): ExportColumn<R>[] => [
    ...caseColumns,
    { heading: h('Услуга', 'Қызмет', 'Service'), value: (r) => r.serviceId },
    { heading: h('Подразделение', 'Бөлімше', 'Unit'), value: (r) => r.unit },
    { heading: h('Шаг', 'Қадам', 'Step'), value: (r, lang) => labelIn(r, lang, r.stepId) },
    {
      heading: h('Исполнители', 'Орындаушылар', 'Roles'),
      value: (r, lang) => r.roles.map((role) => roleIn(role, lang)).join(', '),
    },
    { heading: h('Пункт', 'Тармақ', 'Clause'), value: (r, lang) => (lang === 'kk' ? r.citation.kk : r.citation.ru) },
    { heading: h('Начало отсчёта', 'Есептің басталуы', 'Clock started'), value: (r) => local(r.startedAt) },
    { heading: h('Срок', 'Мерзім', 'Deadline'), value: (r) => local(r.deadline) },
  ];
  const overdue: ExportColumn<Row<'overdueAll'>>[] = [
    ...openRow<Row<'overdueAll'>>(),
    { heading: h('Просрочка, мин', 'Кешігу, мин', 'Overdue by, min'), value: (r) => r.overdueMinutes },
  ];
  const atRisk: ExportColumn<Row<'atRiskAll'>>[] = [
    ...openRow<Row<'atRiskAll'>>(),
    { heading: h('Осталось', 'Қалды', 'Time left'), value: (r) => (r.timeLeft ? r.timeLeft.value : null) },
    { heading: h('Единица', 'Бірлік', 'Unit of time'), value: (r) => r.timeLeft?.unit ?? null },
    { heading: h('Предупреждение, %', 'Ескерту, %', 'Warning, %'), value: (r) => r.threshold },
  ];
  const stepCases: ExportColumn<Row<'stepCasesAll'>>[] = [
    ...caseColumns,
    { heading: h('Подразделение', 'Бөлімше', 'Unit'), value: (r) => r.unit },
    { heading: h('Подано', 'Берілді', 'Submitted'), value: (r) => local(r.submittedAt) },
    {
      heading: h('Статус', 'Мәртебе', 'Status'),
      value: (r, lang) => r.rows.map((x) => STATUS_LABELS[x.status]?.[lang] ?? x.status).join(', '),
    },
    { heading: h('Срок', 'Мерзім', 'Deadline'), value: (r) => r.rows.map((x) => local(x.deadline) ?? '—').join(', ') },
  ];
  const summary: ExportColumn<SummaryRow & Labelled>[] = [
    { heading: h('Ключ', 'Кілт', 'Key'), value: (r) => r.key },
    { heading: h('Название', 'Атауы', 'Name'), value: (r, lang) => labelIn(r, lang, r.key) },
    {
      heading: h('Соблюдено, %', 'Сақталды, %', 'Met, %'),
      value: (r) => (r.complianceRate === null ? null : Math.round(r.complianceRate * 1000) / 10),
    },
    { heading: h('Всего', 'Барлығы', 'Total'), value: (r) => r.total },
    { heading: h('В срок', 'Мерзімінде', 'Met'), value: (r) => r.met },
    { heading: h('Нарушено', 'Бұзылды', 'Breached'), value: (r) => r.breached },
    { heading: h('Просрочено', 'Мерзімі өткен', 'Overdue'), value: (r) => r.overdue },
    { heading: h('В работе', 'Жұмыста', 'Open'), value: (r) => r.open },
    { heading: h('Не применяется', 'Қолданылмайды', 'Not applicable'), value: (r) => r.notApplicable },
    {
      heading: h('Ждут даты отсчёта', 'Есептеу басталатын күнді күтуде', 'Waiting for their start date'),
      value: (r) => r.waiting,
    },
  ];
  return { overdue, atRisk, stepCases, summary };
}
