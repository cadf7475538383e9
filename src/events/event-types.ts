/**
 * The one vocabulary of regulatory events. Regulation steps name the event that completes
 * them; cases record exactly these types. Labels are shown to users in Russian and Kazakh.
 */

export interface EventTypeInfo {
  ru: string;
  kk: string;
  /** What happened, in one line (English, for developers and auditors' tooling). */
  meaning: string;
}

export const EVENT_TYPES = {
  ApplicationSubmitted: {
    ru: 'Заявление подано',
    kk: 'Өтініш берілді',
    meaning: 'The applicant filed an application (portal, PSC or provider).',
  },
  ApplicationCancelled: {
    ru: 'Заявление отозвано',
    kk: 'Өтініш кері қайтарылды',
    meaning: 'The applicant cancelled the application before a result was issued.',
  },
  ReceiptIssued: {
    ru: 'Выдана расписка (талон)',
    kk: 'Талон берілді',
    meaning: 'A receipt confirming acceptance of the documents was issued.',
  },
  DocumentsAccepted: {
    ru: 'Документы приняты',
    kk: 'Құжаттар қабылданды',
    meaning: 'The documents were accepted by the technical secretary or an employee of the provider.',
  },
  DocumentRegistered: {
    ru: 'Документы зарегистрированы',
    kk: 'Құжаттар тіркелді',
    meaning: 'The registry office registered the documents (date of receipt and incoming number).',
  },
  AssignedToEmployee: {
    ru: 'Поручено исполнителю',
    kk: 'Орындаушыға тапсырылды',
    meaning: 'The head reviewed the documents and assigned them to an employee.',
  },
  DocumentsReviewed: {
    ru: 'Документы проверены',
    kk: 'Құжаттар тексерілді',
    meaning: 'The employee checked the documents for completeness and compliance.',
  },
  OrderDrafted: {
    ru: 'Подготовлен проект приказа',
    kk: 'Бұйрық жобасы дайындалды',
    meaning: 'A draft order (enrolment, admission, completion) was prepared.',
  },
  OrderSigned: {
    ru: 'Приказ подписан',
    kk: 'Бұйрыққа қол қойылды',
    meaning: 'The authorised official signed the order.',
  },
  ExtractIssued: {
    ru: 'Выдана выписка из приказа',
    kk: 'Бұйрықтан үзінді берілді',
    meaning: 'The applicant received the extract from the order: the positive result.',
  },
  RefusalIssued: {
    ru: 'Выдан мотивированный отказ',
    kk: 'Дәлелді бас тарту берілді',
    meaning: 'The applicant received a reasoned refusal: the negative result.',
  },
  PortalRefusalIssued: {
    ru: 'Портал отказал в запрашиваемой услуге',
    // The words of order 58, p.10 pp.8 (5-үдеріс).
    kk: 'Сұралған қызметтен бас тарту туралы хабарлама қалыптастырылды',
    meaning:
      "The e-government portal refused the requested service: the applicant's data do not meet the required conditions (p.10, process 5).",
  },
  NotAdmitted: {
    ru: 'Не допущен (не принят) по итогам экзаменов, конкурса или тестирования',
    // A working translation built on order 58's «қабылданбау» (non-admission); not the act's own words.
    kk: 'Емтихан, конкурс немесе тестілеу қорытындысы бойынша қабылданбады',
    meaning:
      'The applicant was not admitted (exams, competition, admission to or result of testing): an ending the text implies with no document of its own.',
  },
  TestSlotBooked: {
    ru: 'Выбраны место, дата и время тестирования',
    kk: 'Тестілеу орны, күні және уақыты таңдалды',
    meaning: 'A place, day and time of testing were chosen from free slots.',
  },
  TestScheduleAnnounced: {
    ru: 'Опубликован график тестирования',
    kk: 'Тестілеу кестесі жарияланды',
    meaning: 'The provider published the testing schedule on its website.',
  },
  AdmittedToTest: {
    ru: 'Допущен к тестированию',
    kk: 'Тестілеуге жіберілді',
    meaning: 'The applicant was admitted to testing after the identity check.',
  },
  ApplicantBriefed: {
    ru: 'Проведён инструктаж',
    kk: 'Нұсқаулық жүргізілді',
    meaning: 'The applicant was briefed on the testing procedure.',
  },
  TestCompleted: {
    ru: 'Тестирование завершено',
    kk: 'Тестілеу аяқталды',
    meaning: 'The test ended.',
  },
  TestResultsSigned: {
    ru: 'Результаты тестирования подписаны',
    kk: 'Тестілеу нәтижелеріне қол қойылды',
    meaning: 'The test results were signed (by the administrator and the operator) and sealed.',
  },
  TestResultIssued: {
    ru: 'Результат тестирования выдан',
    kk: 'Тестілеу нәтижесі берілді',
    meaning: 'The applicant received the test result (certificate or reference).',
  },
  AdmissionDecided: {
    ru: 'Принято решение о допуске',
    kk: 'Жіберу туралы шешім қабылданды',
    meaning: 'A decision on admitting the applicant to the next stage (e.g. testing) was taken.',
  },
  ExamResultRecorded: {
    ru: 'Результат экзамена зафиксирован',
    kk: 'Емтихан нәтижесі тіркелді',
    meaning: 'The result of an entrance or final exam was recorded.',
  },
  AppealOpened: {
    ru: 'Подана апелляция',
    kk: 'Апелляция берілді',
    meaning: 'The applicant filed an appeal against an exam or test result.',
  },
  AppealResolved: {
    ru: 'Апелляция рассмотрена',
    kk: 'Апелляция қаралды',
    meaning: 'The appeal commission decided the appeal.',
  },
  CompetitionDecided: {
    ru: 'Подведены итоги конкурса',
    kk: 'Конкурс қорытындыланды',
    meaning: 'The admission commission decided the competition.',
  },
  InformationRequested: {
    ru: 'Запрошена информация',
    kk: 'Ақпарат сұратылды',
    meaning: 'The provider requested information from state bodies in writing.',
  },
  InformationReceived: {
    ru: 'Информация получена',
    kk: 'Ақпарат алынды',
    meaning: 'The requested information arrived.',
  },
  CandidateListSent: {
    ru: 'Список кандидатов направлен',
    kk: 'Кандидаттар тізімі жіберілді',
    meaning: 'The list of applicants with positive results was sent to the commission.',
  },
  GroupFormed: {
    ru: 'Сформирована группа слушателей',
    kk: 'Тыңдаушылар тобы жасақталды',
    meaning: 'A group of listeners was formed.',
  },
  ProgrammeScheduleSet: {
    ru: 'Утверждён график обучения',
    kk: 'Оқу кестесі бекітілді',
    meaning: 'The study programme and its schedule were set for a case or cohort.',
  },
  StudyMilestoneRecorded: {
    ru: 'Зафиксирован этап обучения',
    kk: 'Оқу кезеңі тіркелді',
    meaning: 'A study milestone (discipline, practice, dissertation, publication, review, exam, defence) was recorded.',
  },
  DissertationDefended: {
    ru: 'Диссертация защищена',
    kk: 'Диссертация қорғалды',
    meaning: 'The student defended the dissertation.',
  },
  StudentDocumentsIssued: {
    ru: 'Выданы студенческий билет и зачётная книжка',
    kk: 'Студенттік билет пен сынақ кітапшасы берілді',
    meaning: "The student's card and record book were handed over.",
  },
  CompletionDocumentIssued: {
    ru: 'Выдан документ о завершении обучения',
    kk: 'Оқуды аяқтағаны туралы құжат берілді',
    meaning: 'A diploma, certificate or reference on completion of study was issued.',
  },
  CohortDateRecorded: {
    ru: 'Зафиксирована дата, от которой исчисляются сроки',
    // A working translation; not an act's own words.
    kk: 'Мерзімдер есептелетін күн тіркелді',
    meaning:
      "The provider's staff recorded, after the filing, a date of the applicant's cohort that starts a clock (the end of document acceptance of a corps «A» selection round).",
  },
  IncompleteStudyReferenceIssued: {
    ru: 'Выдана справка не завершившему обучение',
    // A working translation (order 184 has no Kazakh text in the seeds); not the act's own words.
    kk: 'Оқуды аяқтамаған білім алушыға анықтама берілді',
    meaning: 'A student who did not complete the programme received the reference of appendix 4, p.3 pp.2.',
  },
} as const satisfies Record<string, EventTypeInfo>;

export type EventType = keyof typeof EVENT_TYPES;

export const EVENT_TYPE_NAMES = Object.keys(EVENT_TYPES) as EventType[];

export function isEventType(value: string): value is EventType {
  return Object.prototype.hasOwnProperty.call(EVENT_TYPES, value);
}
