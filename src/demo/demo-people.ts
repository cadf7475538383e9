/**
 * The people of the demo: applicants with valid IINs and plausible Kazakh and Russian names, and the
 * staff of each unit, one principal per role (two where a step needs two people, e.g. the test results
 * signed by the administrator and the operator). Principals carry the regulation roles exactly as a
 * bearer token would. Pure.
 */
import { iinCheckDigit } from '../modules/identity/domain/iin';
import type { Principal, Role } from '../modules/identity/domain/principal';
import type { Rng } from './prng';

/** The provider's territorial units the demo spreads cases over. */
export const DEMO_UNITS = ['astana', 'almaty', 'shymkent', 'karaganda', 'aktobe'] as const;
export type DemoUnit = (typeof DEMO_UNITS)[number];

const KAZAKH_MALE = [
  'Ерлан',
  'Нурлан',
  'Асхат',
  'Дамир',
  'Ержан',
  'Бауыржан',
  'Айдос',
  'Арман',
  'Данияр',
  'Канат',
  'Мейрам',
  'Серик',
  'Талгат',
  'Ануар',
  'Ерболат',
  'Олжас',
  'Азамат',
  'Жандос',
  'Марат',
  'Руслан',
];
const KAZAKH_FEMALE = [
  'Айгерим',
  'Динара',
  'Гульнара',
  'Жанар',
  'Асель',
  'Салтанат',
  'Айжан',
  'Меруерт',
  'Сауле',
  'Мадина',
  'Алия',
  'Жазира',
  'Камила',
  'Назерке',
  'Акмарал',
  'Дана',
  'Индира',
  'Гаухар',
  'Анар',
  'Томирис',
];
/** Surnames in the male form; the female form adds -а to -ов, -ев and -ин. */
const KAZAKH_SURNAMES = [
  'Ахметов',
  'Нурланов',
  'Сейтказиев',
  'Жумабаев',
  'Искаков',
  'Касымов',
  'Омаров',
  'Сулейменов',
  'Абенов',
  'Бекмухамбетов',
  'Ермеков',
  'Есенов',
  'Жаксылыков',
  'Кенжебаев',
  'Мусин',
  'Нурпеисов',
  'Рахимов',
  'Смагулов',
  'Тулегенов',
  'Утепов',
  'Шаяхметов',
  'Байжанов',
  'Досмагамбетов',
  'Ибраев',
  'Калиев',
  'Муканов',
  'Оспанов',
  'Сарсенбаев',
  'Тажибаев',
  'Юсупов',
];
const RUSSIAN_MALE = [
  'Сергей',
  'Андрей',
  'Дмитрий',
  'Алексей',
  'Игорь',
  'Владимир',
  'Евгений',
  'Максим',
  'Олег',
  'Виктор',
];
const RUSSIAN_FEMALE = [
  'Елена',
  'Ольга',
  'Наталья',
  'Татьяна',
  'Ирина',
  'Светлана',
  'Анна',
  'Марина',
  'Юлия',
  'Екатерина',
];
const RUSSIAN_SURNAMES = [
  'Иванов',
  'Петров',
  'Смирнов',
  'Кузнецов',
  'Попов',
  'Васильев',
  'Соколов',
  'Новиков',
  'Фёдоров',
  'Морозов',
  'Волков',
  'Лебедев',
  'Козлов',
  'Ким',
  'Пак',
  'Шевченко',
  'Бондаренко',
];
/** Fathers' names: [name, son's patronymic, daughter's patronymic]. */
const KAZAKH_FATHERS: [string, string, string][] = [
  ['Нурлан', 'Нурланович', 'Нурлановна'],
  ['Ерлан', 'Ерланович', 'Ерлановна'],
  ['Серик', 'Серикович', 'Сериковна'],
  ['Марат', 'Маратович', 'Маратовна'],
  ['Канат', 'Канатович', 'Канатовна'],
  ['Болат', 'Болатович', 'Болатовна'],
  ['Кайрат', 'Кайратович', 'Кайратовна'],
  ['Амангельды', 'Амангельдиевич', 'Амангельдиевна'],
  ['Бахытжан', 'Бахытжанович', 'Бахытжановна'],
  ['Мурат', 'Муратович', 'Муратовна'],
];
const RUSSIAN_FATHERS: [string, string][] = [
  ['Петрович', 'Петровна'],
  ['Сергеевич', 'Сергеевна'],
  ['Иванович', 'Ивановна'],
  ['Викторович', 'Викторовна'],
  ['Александрович', 'Александровна'],
  ['Николаевич', 'Николаевна'],
];

const feminine = (surname: string) => (/(ов|ев|ёв|ин)$/.test(surname) ? `${surname}а` : surname);

export type Sex = 'male' | 'female';

/** A full name in the order of Kazakh documents: surname, given name, patronymic. */
export function personName(rng: Rng, sex: Sex): string {
  const male = sex === 'male';
  if (rng.chance(0.75)) {
    const surname = rng.pick(KAZAKH_SURNAMES);
    const given = rng.pick(male ? KAZAKH_MALE : KAZAKH_FEMALE);
    const [father, son, daughter] = rng.pick(KAZAKH_FATHERS);
    // Some write the patronymic the Kazakh way (-ұлы / -қызы); most documents of the period use the Russian form.
    const patronymic = rng.chance(0.15) ? `${father}${male ? 'ұлы' : 'қызы'}` : male ? son : daughter;
    return `${male ? surname : feminine(surname)} ${given} ${patronymic}`;
  }
  const surname = rng.pick(RUSSIAN_SURNAMES);
  const given = rng.pick(male ? RUSSIAN_MALE : RUSSIAN_FEMALE);
  const patronymic = rng.pick(RUSSIAN_FATHERS)[male ? 0 : 1];
  return `${male ? surname : feminine(surname)} ${given} ${patronymic}`;
}

/**
 * A valid IIN for someone born on `birthDate` (YYYY-MM-DD, 1900–2099): YYMMDD, the century-and-sex digit,
 * four serial digits and the check digit (serials whose 11 digits have no check digit are skipped).
 */
export function makeIin(rng: Rng, birthDate: string, sex: Sex): string {
  const year = Number(birthDate.slice(0, 4));
  const centuryDigit = (year < 2000 ? 3 : 5) + (sex === 'female' ? 1 : 0);
  const prefix = `${birthDate.slice(2, 4)}${birthDate.slice(5, 7)}${birthDate.slice(8, 10)}${centuryDigit}`;
  for (;;) {
    const first11 = `${prefix}${String(rng.int(0, 9999)).padStart(4, '0')}`;
    const check = iinCheckDigit(first11);
    if (check !== null) return `${first11}${check}`;
  }
}

export interface DemoApplicant {
  iin: string;
  fullName: string;
  birthDate: string;
  sex: Sex;
}

/** An adult applicant, `minAge`–`maxAge` years old in `year`. */
export function makeApplicant(rng: Rng, year: number, minAge = 22, maxAge = 55): DemoApplicant {
  const sex: Sex = rng.chance(0.5) ? 'male' : 'female';
  const birthYear = year - rng.int(minAge, maxAge);
  const month = rng.int(1, 12);
  const day = rng.int(1, new Date(Date.UTC(birthYear, month, 0)).getUTCDate());
  const birthDate = `${birthYear}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}`;
  return { iin: makeIin(rng, birthDate, sex), fullName: personName(rng, sex), birthDate, sex };
}

export function applicantPrincipal(applicant: DemoApplicant, unit: string): Principal {
  return { id: `applicant-${applicant.iin}`, name: applicant.fullName, roles: ['applicant'], unit, iin: applicant.iin };
}

/** Outside the provider's units: the e-government portal and the state bodies that answer requests. */
export const PORTAL: Principal = {
  id: 'egov-portal',
  name: 'Портал «электронного правительства» egov.kz',
  roles: ['e-government-portal'],
  unit: 'egov',
};

export const STATE_BODIES = [
  'Комитет по правовой статистике и специальным учётам Генеральной прокуратуры',
  'Министерство внутренних дел',
  'Комитет национальной безопасности',
  'Министерство здравоохранения',
] as const;

export function stateBodyPrincipal(body: string, index: number): Principal {
  return { id: `state-body-${index + 1}`, name: body, roles: ['state-body'], unit: 'state-bodies' };
}

/**
 * The staff of the units, created on first use with a name drawn from a stream of their own, so a
 * person keeps their name however the cases interleave.
 */
export class StaffDirectory {
  private readonly staff = new Map<string, Principal>();

  constructor(private readonly rng: Rng) {}

  /** Person `n` (1-based) holding `role` in `unit`. */
  get(unit: string, role: Role, n = 1): Principal {
    const id = `${unit}-${role}-${n}`;
    let principal = this.staff.get(id);
    if (!principal) {
      const own = this.rng.fork(id);
      principal = { id, name: personName(own, own.chance(0.55) ? 'female' : 'male'), roles: [role], unit };
      this.staff.set(id, principal);
    }
    return principal;
  }

  /** One of the first `size` people holding the role in the unit. */
  any(rng: Rng, unit: string, role: Role, size = 3): Principal {
    return this.get(unit, role, rng.int(1, size));
  }
}
