// The compliance dashboard: reads the compliance API with the caller's bearer token, draws with Chart.js (each
// chart with a table of its numbers), pages and downloads every list with the filters on screen, and refreshes
// when the server reports newly projected events (Server-Sent Events read through fetch, so the token travels in
// a header, never in a URL; parsed by eventsource-parser).
(function () {
  'use strict';

  const I18N = {
    ru: {
      title: 'Соблюдение сроков государственных услуг',
      language: 'Язык',
      token: 'Токен доступа (Bearer)',
      signIn: 'Войти',
      service: 'Услуга',
      unit: 'Подразделение',
      from: 'С даты',
      to: 'По дату',
      asOf: 'На дату',
      apply: 'Применить',
      all: 'все',
      byService: 'Доля сроков, соблюдённых по услугам, %',
      bySteps: 'По шагам',
      trend: 'Динамика по месяцам, %',
      overdue: 'Просроченные шаги',
      cases: 'Дела шага',
      history: 'История дела',
      rate: 'Соблюдено, %',
      met: 'в срок',
      breached: 'нарушено',
      open: 'в работе',
      overdueCount: 'просрочено',
      notApplicableRow: 'не применяется',
      notApplicable: 'не применялось',
      waiting: 'ждут даты отсчёта',
      total: 'всего',
      case: 'Дело',
      step: 'Шаг',
      deadline: 'Срок',
      late: 'Просрочка',
      status: 'Статус',
      event: 'Событие',
      actor: 'Исполнитель',
      occurred: 'Произошло',
      recorded: 'Записано',
      clause: 'Пункт',
      hash: 'Хеш',
      dataAsOf: 'данные на',
      live: 'обновляется',
      p50: 'медиана',
      p90: '90-й процентиль',
      unitMinutes: 'мин',
      unitWorkingHours: 'раб. ч',
      unitDays: 'дн',
      hours: 'ч',
      backDated: 'задним числом',
      atRisk: 'Под угрозой срыва срока',
      timeLeft: 'Осталось',
      warning: 'Предупреждение',
      dueToday: 'срок сегодня',
      deliveries: 'Доставка во внешние системы',
      pending: 'в очереди',
      delivered: 'доставлено',
      dead: 'не доставлено',
      lag: 'задержка',
      pageTitle: 'reglament — соблюдение сроков',
      month: 'Месяц',
      monthsNote: 'Диаграммы и итоги считают целые месяцы периода; списки — точные даты',
      pageSize: 'Строк на странице',
      roles: 'Исполнители',
      previous: 'Назад',
      next: 'Далее',
      pages: 'Страницы списка',
      downloadCsv: 'Скачать CSV',
      downloadXlsx: 'Скачать XLSX',
      chartAlt: 'Диаграмма; те же числа — в таблице под ней',
      noRows: 'нет строк',
      expired: 'Срок действия токена истёк. Войдите снова с новым токеном.',
      signInAgain: 'Войти снова',
      tokenHint: 'Токен выдаёт администратор: npm run cli -- mint-token --roles auditor',
      signOut: 'Выйти',
      tokenMalformed:
        'Это не токен доступа: токен (JWT) — три части из латинских букв, цифр, «-» и «_», разделённые точками, не длиннее 8 КиБ. Скопируйте его целиком, без пробелов и переносов строк.',
      tokenRefused: 'Токен не принят. Проверьте его или получите новый и войдите снова.',
      unreachable: 'Сервис недоступен: нет связи с сервером. Проверьте подключение и повторите.',
      tooManyRequests: 'Слишком много запросов. Повторите через {n} с.',
      tooManyRequestsLater: 'Слишком много запросов. Повторите позже.',
      forbidden: 'Ваши роли не дают доступа к этим данным.',
      serverError: 'Сервис ответил ошибкой ({status}). Повторите позже.',
      requestRefused: 'Сервис отклонил запрос ({status}).',
      liveRetry: 'обновления: слишком много запросов, переподключение через {n} с',
      seconds: 'с',
      roleSystem: 'система',
      deadlineScheduler: 'Планировщик сроков',
    },
    kk: {
      title: 'Мемлекеттік қызметтер мерзімдерінің сақталуы',
      language: 'Тіл',
      token: 'Қол жеткізу токені (Bearer)',
      signIn: 'Кіру',
      service: 'Қызмет',
      unit: 'Бөлімше',
      from: 'Күннен бастап',
      to: 'Күнге дейін',
      asOf: 'Есеп күні',
      apply: 'Қолдану',
      all: 'барлығы',
      byService: 'Қызметтер бойынша сақталған мерзімдер үлесі, %',
      bySteps: 'Қадамдар бойынша',
      trend: 'Айлар бойынша серпін, %',
      overdue: 'Мерзімі өткен қадамдар',
      cases: 'Қадамның істері',
      history: 'Істің тарихы',
      rate: 'Сақталды, %',
      met: 'мерзімінде',
      breached: 'бұзылды',
      open: 'жұмыста',
      notApplicableRow: 'қолданылмайды',
      notApplicable: 'қолданылмады',
      waiting: 'есептеу басталатын күнді күтуде',
      overdueCount: 'мерзімі өткен',
      total: 'барлығы',
      case: 'Іс',
      step: 'Қадам',
      deadline: 'Мерзім',
      late: 'Кешігу',
      status: 'Мәртебе',
      event: 'Оқиға',
      actor: 'Орындаушы',
      occurred: 'Болған уақыты',
      recorded: 'Жазылған уақыты',
      clause: 'Тармақ',
      hash: 'Хэш',
      dataAsOf: 'деректер уақыты',
      live: 'жаңартылуда',
      p50: 'медиана',
      p90: '90-шы процентиль',
      unitMinutes: 'мин',
      unitWorkingHours: 'жұм. сағ',
      unitDays: 'күн',
      hours: 'сағ',
      backDated: 'кейінгі күнмен',
      atRisk: 'Мерзімі бұзылу қаупінде',
      timeLeft: 'Қалды',
      warning: 'Ескерту',
      dueToday: 'мерзімі бүгін',
      deliveries: 'Сыртқы жүйелерге жеткізу',
      pending: 'кезекте',
      delivered: 'жеткізілді',
      dead: 'жеткізілмеді',
      lag: 'кідіріс',
      pageTitle: 'reglament — мерзімдердің сақталуы',
      month: 'Ай',
      monthsNote: 'Диаграммалар мен қорытындылар кезеңнің толық айларын есептейді; тізімдер — нақты күндерді',
      pageSize: 'Беттегі жолдар',
      roles: 'Орындаушылар',
      previous: 'Артқа',
      next: 'Келесі',
      pages: 'Тізім беттері',
      downloadCsv: 'CSV жүктеу',
      downloadXlsx: 'XLSX жүктеу',
      chartAlt: 'Диаграмма; сол сандар астындағы кестеде',
      noRows: 'жол жоқ',
      expired: 'Токеннің мерзімі өтті. Жаңа токенмен қайта кіріңіз.',
      signInAgain: 'Қайта кіру',
      tokenHint: 'Токенді әкімші береді: npm run cli -- mint-token --roles auditor',
      signOut: 'Шығу',
      tokenMalformed:
        'Бұл қол жеткізу токені емес: токен (JWT) — нүктелермен бөлінген латын әріптерінен, цифрлардан, «-» және «_» таңбаларынан тұратын үш бөлік, 8 КиБ-тан аспайды. Оны бос орынсыз және жол ауыстырусыз толық көшіріңіз.',
      tokenRefused: 'Токен қабылданбады. Оны тексеріңіз немесе жаңасын алып, қайта кіріңіз.',
      unreachable: 'Қызмет қолжетімсіз: сервермен байланыс жоқ. Қосылымды тексеріп, қайталаңыз.',
      tooManyRequests: 'Сұраныстар тым көп. {n} с кейін қайталаңыз.',
      tooManyRequestsLater: 'Сұраныстар тым көп. Кейінірек қайталаңыз.',
      forbidden: 'Сіздің рөлдеріңіз бұл деректерге қол жеткізуге рұқсат бермейді.',
      serverError: 'Қызмет қатемен жауап берді ({status}). Кейінірек қайталаңыз.',
      requestRefused: 'Қызмет сұранысты қабылдамады ({status}).',
      liveRetry: 'жаңартулар: сұраныстар тым көп, {n} с кейін қайта қосылады',
      seconds: 'с',
      roleSystem: 'жүйе',
      deadlineScheduler: 'Мерзімдер жоспарлағышы',
    },
    en: {
      title: 'Public service deadline compliance',
      language: 'Language',
      token: 'Access token (Bearer)',
      signIn: 'Sign in',
      service: 'Service',
      unit: 'Unit',
      from: 'From date',
      to: 'To date',
      asOf: 'As of',
      apply: 'Apply',
      all: 'all',
      byService: 'Deadlines met by service, %',
      bySteps: 'By step',
      trend: 'Monthly trend, %',
      overdue: 'Overdue steps',
      cases: 'Cases of step',
      history: 'Case history',
      rate: 'Met, %',
      met: 'met',
      breached: 'breached',
      open: 'open',
      overdueCount: 'overdue',
      notApplicableRow: 'not applicable',
      notApplicable: 'not applicable',
      waiting: 'waiting for their start date',
      total: 'total',
      case: 'Case',
      step: 'Step',
      deadline: 'Deadline',
      late: 'Overdue by',
      status: 'Status',
      event: 'Event',
      actor: 'Actor',
      occurred: 'Occurred',
      recorded: 'Recorded',
      clause: 'Clause',
      hash: 'Hash',
      dataAsOf: 'data as of',
      live: 'live',
      p50: 'median',
      p90: '90th percentile',
      unitMinutes: 'min',
      unitWorkingHours: 'working h',
      unitDays: 'days',
      hours: 'h',
      backDated: 'back-dated',
      atRisk: 'At risk',
      timeLeft: 'Time left',
      warning: 'Warning',
      dueToday: 'due today',
      deliveries: 'Delivery to back-office systems',
      pending: 'pending',
      delivered: 'delivered',
      dead: 'dead-lettered',
      lag: 'lag',
      pageTitle: 'reglament — deadline compliance',
      month: 'Month',
      monthsNote: 'Charts and totals count the whole months of the period; lists the exact dates',
      pageSize: 'Rows per page',
      roles: 'Roles',
      previous: 'Previous',
      next: 'Next',
      pages: 'List pages',
      downloadCsv: 'Download CSV',
      downloadXlsx: 'Download XLSX',
      chartAlt: 'Chart; the same numbers are in the table below it',
      noRows: 'no rows',
      expired: 'Your access token has expired. Sign in again with a new token.',
      signInAgain: 'Sign in again',
      tokenHint: 'An administrator issues tokens: npm run cli -- mint-token --roles auditor',
      signOut: 'Sign out',
      tokenMalformed:
        'This is not an access token: a token (JWT) is three parts of Latin letters, digits, "-" and "_" separated by dots, at most 8 KiB. Copy it whole, without spaces or line breaks.',
      tokenRefused: 'The access token was not accepted. Check it, or get a new one, and sign in again.',
      unreachable: 'The service cannot be reached. Check the connection and try again.',
      tooManyRequests: 'Too many requests. Try again in {n} s.',
      tooManyRequestsLater: 'Too many requests. Try again later.',
      forbidden: 'Your roles do not give access to this.',
      serverError: 'The service answered with an error ({status}). Try again later.',
      requestRefused: 'The service refused the request ({status}).',
      liveRetry: 'updates: too many requests, reconnecting in {n} s',
      seconds: 's',
      roleSystem: 'system',
      deadlineScheduler: 'Deadline scheduler',
    },
  };

  // Role names in English; Russian and Kazakh come from the server with each row.
  const ROLES_EN = {
    applicant: 'Applicant',
    'psc-operator': 'PSC operator',
    'registry-clerk': 'Registry clerk',
    head: 'Head',
    employee: 'Employee',
    signatory: 'Signatory',
    'technical-secretary': 'Technical secretary',
    'executive-secretary': 'Executive secretary',
    'test-administrator': 'Test administrator',
    'test-operator': 'Test operator',
    'subject-commission': 'Subject commission',
    'exam-commission': 'Examination commission',
    'admission-commission': 'Admission commission',
    'appeal-commission': 'Appeal commission',
    methodologist: 'Methodologist',
    'institute-employee': 'Institute employee',
    'responsible-person': "Provider's responsible person",
    'academic-programmes-centre': 'Academic programmes centre',
    department: 'Department',
    institute: "Provider's institute",
    'international-office': 'International office',
    'teaching-staff': 'Teaching staff',
    'state-body': 'State body',
    'e-government-portal': 'E-government portal',
    auditor: 'Auditor',
    admin: 'System administrator',
  };
  const LISTS = ['overdue', 'atRisk', 'cases'];
  const pageSize = () => Number($('f-page-size').value) || 50;

  const state = {
    lang: sessionStorage.getItem('lang') || 'ru',
    token: null,
    services: [],
    selectedService: null,
    selectedStep: null,
    historyCase: null,
    live: false,
    charts: {},
    offset: { overdue: 0, atRisk: 0, cases: 0 },
    totals: {},
    // Each sign-in is a session; an answer or a stream of an earlier one is dropped, so nothing paints over the
    // sign-in form once the reader has signed out or the token was refused.
    session: 0,
    abort: null,
    // Whether the server has accepted this token once: a 401 after that means it ran out, before it that it was refused.
    worked: false,
    // What the page is telling the reader, as functions of the language, so a language switch retells them.
    error: null,
    loginError: null,
    notice: null,
  };
  const $ = (id) => document.getElementById(id);
  const t = (key) => (I18N[state.lang] && I18N[state.lang][key]) || I18N.en[key] || key;
  const label = (l, fallback) => (l && (l[state.lang === 'en' ? 'ru' : state.lang] || l.ru)) || fallback;
  // `system` (what the deadline scheduler records as its role) is no role of the regulations: the server sends no label.
  const roleName = (id, l) =>
    id === 'system' ? t('roleSystem') : (state.lang === 'en' ? ROLES_EN[id] : l && l[state.lang]) || label(l, id);
  // Actors that are the system itself are recorded under an English name; the page names them in its language.
  const SYSTEM_ACTORS = { 'system:deadline-scheduler': () => t('deadlineScheduler') };
  const actorName = (actor) => (SYSTEM_ACTORS[actor.id] ? SYSTEM_ACTORS[actor.id]() : actor.name);
  const fill = (text, values) => text.replace(/\{(\w+)\}/g, (m, k) => (k in values ? String(values[k]) : m));
  // Clause citations come from the server in every language, the appendix included (order 184 numbers paragraphs per appendix).
  const cite = (c) => (c ? c[state.lang] || c.ru : '');
  const esc = (v) =>
    String(v == null ? '' : v).replace(
      /[&<>"']/g,
      (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c],
    );
  const pct = (rate) => (rate == null ? null : Math.round(rate * 1000) / 10);
  const locale = () => (state.lang === 'en' ? 'en-GB' : state.lang === 'kk' ? 'kk-KZ' : 'ru-RU');

  function translate() {
    document.documentElement.lang = state.lang;
    document.title = t('pageTitle');
    document.querySelectorAll('[data-i18n]').forEach((el) => (el.textContent = t(el.dataset.i18n)));
    document
      .querySelectorAll('canvas[role="img"]')
      .forEach((c) =>
        c.setAttribute('aria-label', `${t('chartAlt')}: ${c.closest('section').querySelector('h2').textContent}`),
      );
    document.querySelectorAll('.tools[data-export]').forEach((el) => {
      el.innerHTML = `<button type="button" data-format="csv">${esc(t('downloadCsv'))}</button><button type="button" data-format="xlsx">${esc(t('downloadXlsx'))}</button>`;
    });
    document
      .querySelectorAll('nav.pager')
      .forEach((nav) =>
        nav.setAttribute('aria-label', `${t('pages')}: ${nav.closest('section').querySelector('h2').textContent}`),
      );
    showLive();
    showMessages();
  }

  function showLive() {
    const live = state.live;
    $('live').textContent = live === true ? '● ' + t('live') : live ? fill(t('liveRetry'), { n: live.retryIn }) : '';
  }

  /** A message in the page's language (`say`) and, in a smaller line, the server's own detail (its words, in English). */
  function showMessage(id, message) {
    $(id).innerHTML = message
      ? esc(message.say()) + (message.detail ? `<small class="detail">${esc(message.detail)}</small>` : '')
      : '';
  }

  function showMessages() {
    showMessage('error', state.error);
    showMessage('login-error', state.loginError);
    showMessage('expired-text', state.notice);
  }

  /** The session ended (signed out, token refused or expired): whatever was under way stops quietly. */
  class Ended extends Error {}

  /** The API's refusal or failure, told in the page's language; `detail` is the server's own words, if any. */
  class ApiError extends Error {
    constructor(say, detail) {
      super(say());
      this.say = say;
      this.detail = detail || null;
    }
  }

  function showError(error) {
    if (error instanceof Ended) return;
    // Anything else is the page's own fault: shown as it is rather than hidden.
    state.error = error instanceof ApiError ? error : { say: () => String((error && error.message) || error) };
    showMessage('error', state.error);
  }

  /** Retry-After in whole seconds (RFC 9110: a number of seconds or an HTTP date), at least 1; null without one. */
  function retryAfter(response) {
    const value = (response.headers.get('retry-after') || '').trim();
    const at = /^\d+$/.test(value) ? Date.now() + Number(value) * 1000 : Date.parse(value);
    return Number.isNaN(at) ? null : Math.max(1, Math.ceil((at - Date.now()) / 1000));
  }

  /** What a non-2xx answer (other than 401) means to the reader, by kind; the problem's detail follows it. */
  async function failure(response) {
    const status = response.status;
    const body = await response.json().catch(() => null);
    const detail = body && typeof body.detail === 'string' ? body.detail : null;
    if (status === 429) {
      const n = retryAfter(response);
      return new ApiError(
        n == null ? () => t('tooManyRequestsLater') : () => fill(t('tooManyRequests'), { n }),
        detail,
      );
    }
    if (status === 403) return new ApiError(() => t('forbidden'), detail);
    if (status >= 500) return new ApiError(() => fill(t('serverError'), { status }), detail);
    return new ApiError(() => fill(t('requestRefused'), { status }), detail);
  }

  // The verifier's words for a token past its time ("the token has expired", "issued longer ago than tokens are
  // accepted"); any other reason (signature, claims, shape) means the token was never good here.
  const RAN_OUT = /expired|issued longer ago/i;

  /** Leaves the session: the token is forgotten, the stream and every request in flight stop, the data hide. */
  function leave() {
    state.session++;
    state.token = null;
    state.worked = false;
    if (state.abort) state.abort.abort();
    state.abort = null;
    state.live = false;
    showLive();
    state.error = null;
    showMessage('error', null);
    sessionStorage.removeItem('token');
    document.body.removeAttribute('data-ready');
    $('app').hidden = true;
    $('sign-out').hidden = true;
  }

  /**
   * A 401: the token was not accepted, or it ran out. The problem's detail says which; without one, a token the server
   * has taken before can only have expired. The page says so and offers to sign in again.
   */
  function unauthorized(session, detail, expired = detail ? RAN_OUT.test(detail) : state.worked) {
    if (state.session !== session) return;
    leave();
    state.notice = { say: expired ? () => t('expired') : () => t('tokenRefused'), detail };
    showMessage('expired-text', state.notice);
    $('login').hidden = true;
    $('expired').hidden = false;
    $('sign-in-again').focus();
  }

  async function request(path, accept) {
    const session = state.session;
    if (!state.abort) throw new Ended();
    let response;
    try {
      response = await fetch(path, {
        headers: { authorization: 'Bearer ' + state.token, ...(accept ? { accept } : {}) },
        signal: state.abort.signal,
      });
    } catch (error) {
      // No answer at all (the browser says only "Failed to fetch"), unless the session was left meanwhile.
      if (state.session !== session) throw new Ended();
      throw new ApiError(() => t('unreachable'));
    }
    if (state.session !== session) throw new Ended();
    if (response.status === 401) {
      const body = await response.json().catch(() => null);
      unauthorized(session, body && typeof body.detail === 'string' ? body.detail : null);
      throw new Ended();
    }
    // A 403 is an authenticated caller too; a 429 or 5xx may come before the token is looked at.
    if (response.ok || response.status === 403) state.worked = true;
    return response;
  }

  async function api(path) {
    const session = state.session;
    const response = await request(path);
    if (!response.ok) throw await failure(response);
    const body = await response.json().catch(() => null);
    if (state.session !== session) throw new Ended();
    return body;
  }

  /** End of the picked local day (24:00 in Asia/Almaty: UTC+6 before 2024-03-01, UTC+5 after) as an instant. */
  function asOfParam() {
    const day = $('f-as-of').value;
    if (!day) return null;
    const next = new Date(Date.parse(day + 'T00:00:00Z') + 86400000).toISOString().slice(0, 10);
    return `${next}T00:00:00${next >= '2024-03-01' ? '+05:00' : '+06:00'}`;
  }

  function filterQuery(extra) {
    const q = new URLSearchParams();
    const service = $('f-service').value;
    const unit = $('f-unit').value;
    if (service) q.set('serviceId', service);
    if (unit) q.set('unit', unit);
    if ($('f-from').value) q.set('from', $('f-from').value);
    if ($('f-to').value) q.set('to', $('f-to').value);
    const asOf = asOfParam();
    if (asOf) q.set('asOf', asOf);
    for (const [k, v] of Object.entries(extra || {})) if (v != null) q.set(k, v);
    return q.toString();
  }

  /** A table whose rows (if `open` is given) are reachable by Tab and open their drill-down with Enter or Space. */
  function table(id, heads, rows, cells, open) {
    const body = rows.length
      ? rows
          .map((r) => {
            const key = open ? open.key(r) : null;
            return `<tr${open ? ` class="clickable" tabindex="0" data-${open.attr}="${esc(key)}"` : ''}>${cells(r)
              .map((c) => `<td>${c}</td>`)
              .join('')}</tr>`;
          })
          .join('')
      : `<tr><td colspan="${heads.length}" class="muted">${esc(t('noRows'))}</td></tr>`;
    $(id).innerHTML =
      `<thead><tr>${heads.map((h) => `<th scope="col">${esc(h)}</th>`).join('')}</tr></thead><tbody>${body}</tbody>`;
    if (!open) return;
    $(id)
      .querySelectorAll(`tr[data-${open.attr}]`)
      .forEach((tr) => {
        const go = () => Promise.resolve(open.go(tr.dataset[open.attr])).catch(showError);
        tr.addEventListener('click', go);
        tr.addEventListener('keydown', (e) => {
          if (e.key === 'Enter' || e.key === ' ') {
            e.preventDefault();
            go();
          }
        });
      });
  }

  function pager(list, result) {
    state.totals[list] = result.total;
    const from = result.total === 0 ? 0 : result.offset + 1;
    const to = result.offset + (result.rows || result.cases).length;
    $('pager-' + list).innerHTML =
      `<span data-testid="range-${list}">${from}–${to}, ${esc(t('total'))} ${result.total}</span>` +
      `<button type="button" data-step="-1"${result.offset === 0 ? ' disabled' : ''}>${esc(t('previous'))}</button>` +
      `<button type="button" data-step="1"${to >= result.total ? ' disabled' : ''}>${esc(t('next'))}</button>`;
  }

  function barChart(id, rows, onClick) {
    // Regulation titles are long: the axis shows the start, the tooltip the whole title.
    const data = {
      labels: rows.map((r) => (r.display.length > 42 ? r.display.slice(0, 40) + '…' : r.display)),
      datasets: [
        {
          label: t('rate'),
          data: rows.map((r) => pct(r.complianceRate)),
          backgroundColor: rows.map((r) =>
            r.complianceRate != null && r.complianceRate < 0.8 ? '#d9534f' : '#3b7dd8',
          ),
        },
      ],
    };
    if (state.charts[id]) state.charts[id].destroy();
    state.charts[id] = new Chart($(id), {
      type: 'bar',
      data,
      options: {
        animation: false,
        indexAxis: 'y',
        maintainAspectRatio: false,
        scales: { x: { min: 0, max: 100 } },
        plugins: {
          legend: { display: false },
          tooltip: {
            callbacks: {
              title: (items) => rows[items[0].dataIndex].display,
              afterLabel: (ctx) => describe(rows[ctx.dataIndex]),
            },
          },
        },
        onClick: (_e, elements) =>
          elements.length && onClick && Promise.resolve(onClick(rows[elements[0].index])).catch(showError),
      },
    });
    state.charts[id].$rows = rows;
  }

  function describe(r) {
    const unit =
      r.durationUnit === 'minutes'
        ? t('unitMinutes')
        : r.durationUnit === 'working-hours'
          ? t('unitWorkingHours')
          : t('unitDays');
    return (
      `${t('total')} ${r.total} · ${t('met')} ${r.met} · ${t('breached')} ${r.breached} · ${t('overdueCount')} ${r.overdue} · ${t('open')} ${r.open}` +
      (r.notApplicable ? ` · ${t('notApplicable')} ${r.notApplicable}` : '') +
      (r.waiting ? ` · ${t('waiting')} ${r.waiting}` : '') +
      (r.durationP50 != null ? ` · ${t('p50')} ${r.durationP50} ${unit}, ${t('p90')} ${r.durationP90} ${unit}` : '')
    );
  }

  /** A summary's numbers as a table: the chart's text alternative, and (with `open`) its keyboard drill-down. */
  function summaryTable(id, first, rows, open) {
    table(
      id,
      [first, t('rate'), t('total'), t('met'), t('breached'), t('overdueCount'), t('open')],
      rows,
      (r) => [esc(r.display), pct(r.complianceRate) ?? '—', r.total, r.met, r.breached, r.overdue, r.open],
      open,
    );
  }

  const when = (iso) => (iso ? new Date(iso).toLocaleString(locale(), { timeZone: 'Asia/Almaty' }) : '—');
  const lateness = (minutes) =>
    minutes >= 2880 ? `${Math.floor(minutes / 1440)} ${t('unitDays')}` : `${Math.floor(minutes / 60)} ${t('hours')}`;
  const statusText = (s) =>
    s === 'overdue' ? t('overdueCount') : s === 'not-applicable' ? t('notApplicableRow') : t(s);
  const roleList = (r) => esc(r.roles.map((id, i) => roleName(id, r.roleLabels && r.roleLabels[i])).join(', '));

  /** How fresh the numbers are, as the time of the last event they include (Asia/Almaty); the log position in the tooltip. */
  function showStaleness(s) {
    if (!s.at) return;
    const day = (d) => d.toLocaleDateString('en-CA', { timeZone: 'Asia/Almaty' });
    const at = new Date(s.at);
    const time = at.toLocaleTimeString(locale(), {
      timeZone: 'Asia/Almaty',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      hourCycle: 'h23',
    });
    $('staleness').textContent =
      `${t('dataAsOf')} ${day(at) === day(new Date()) ? time : at.toLocaleDateString(locale(), { timeZone: 'Asia/Almaty' }) + ' ' + time}`;
    $('staleness').title = '#' + s.position;
  }

  async function loadServices() {
    const [regs, units] = await Promise.all([api('/api/regulations'), api('/api/compliance/summary?groupBy=unit')]);
    const versions = regs.versions || regs;
    const byService = new Map();
    for (const v of versions) byService.set(v.serviceId, v.title || v.titles || null);
    state.services = [...byService.entries()].map(([id, title]) => ({ id, title }));
    const select = $('f-service');
    const chosen = [select.value, $('f-unit').value];
    select.innerHTML =
      `<option value="">${esc(t('all'))}</option>` +
      state.services.map((s) => `<option value="${esc(s.id)}">${esc(label(s.title, s.id))}</option>`).join('');
    $('f-unit').innerHTML =
      `<option value="">${esc(t('all'))}</option>` +
      units.rows.map((r) => `<option value="${esc(r.key)}">${esc(r.key)}</option>`).join('');
    [select.value, $('f-unit').value] = chosen;
  }

  const UNIT_KEYS = { minutes: 'unitMinutes', 'working-hours': 'unitWorkingHours', 'calendar-days': 'unitDays' };
  const left = (tl) => (tl ? `${tl.value} ${t(UNIT_KEYS[tl.unit] || 'unitDays')}` : '—');
  const toHistory = { attr: 'case', key: (r) => r.caseId, go: (id) => showHistory(id) };

  async function loadOverdue() {
    const overdue = await api(
      '/api/compliance/overdue?' + filterQuery({ limit: pageSize(), offset: state.offset.overdue }),
    );
    table(
      'table-overdue',
      [t('case'), t('step'), t('unit'), t('roles'), t('deadline'), t('late')],
      overdue.rows,
      (r) => [
        esc(r.receiptNumber),
        esc(label(r.label, r.stepId)),
        esc(r.unit),
        roleList(r),
        esc(when(r.deadline)),
        `<span class="late">${esc(lateness(r.overdueMinutes))}</span>`,
      ],
      toHistory,
    );
    pager('overdue', overdue);
  }

  async function loadAtRisk() {
    const atRisk = await api(
      '/api/compliance/at-risk?' + filterQuery({ limit: pageSize(), offset: state.offset.atRisk }),
    );
    table(
      'table-at-risk',
      [t('case'), t('step'), t('unit'), t('deadline'), t('timeLeft'), t('warning')],
      atRisk.rows,
      (r) => [
        esc(r.receiptNumber),
        esc(label(r.label, r.stepId)),
        esc(r.unit),
        esc(when(r.deadline)) + (r.dueToday ? ' · ' + esc(t('dueToday')) : ''),
        esc(left(r.timeLeft)),
        `<span class="late">${r.threshold}%</span>`,
      ],
      toHistory,
    );
    pager('atRisk', atRisk);
  }

  async function refresh() {
    state.error = null;
    showMessage('error', null);
    try {
      const [services, trend, deliveries] = await Promise.all([
        api('/api/compliance/summary?' + filterQuery({ groupBy: 'service' })),
        api('/api/compliance/summary?' + filterQuery({ groupBy: 'month' })),
        // Delivery state is for auditors and admins; a head's page goes without it.
        api('/api/webhooks/status').catch((e) => (e instanceof Ended ? Promise.reject(e) : null)),
        loadOverdue(),
        loadAtRisk(),
      ]);
      $('deliveries').hidden = !deliveries;
      if (deliveries)
        $('deliveries-state').textContent =
          `${t('pending')} ${deliveries.pending} · ${t('delivered')} ${deliveries.delivered} · ${t('dead')} ${deliveries.dead} · ${t('lag')} ${Math.round(deliveries.lagSeconds)} ${t('seconds')}`;
      const serviceRows = services.rows.map((r) => ({ ...r, display: label(r.label, r.key) }));
      barChart('chart-service', serviceRows, (row) => selectService(row.key));
      summaryTable('table-service', t('service'), serviceRows, {
        attr: 'service',
        key: (r) => r.key,
        go: (id) => selectService(id),
      });

      if (state.charts['chart-trend']) state.charts['chart-trend'].destroy();
      state.charts['chart-trend'] = new Chart($('chart-trend'), {
        type: 'line',
        data: {
          labels: trend.rows.map((r) => r.key),
          datasets: [
            {
              label: t('rate'),
              data: trend.rows.map((r) => pct(r.complianceRate)),
              borderColor: '#3b7dd8',
              tension: 0.2,
            },
          ],
        },
        options: { animation: false, maintainAspectRatio: false, scales: { y: { min: 0, max: 100 } } },
      });
      state.charts['chart-trend'].$rows = trend.rows;
      summaryTable(
        'table-trend',
        t('month'),
        trend.rows.map((r) => ({ ...r, display: r.key })),
      );
      showStaleness(services.staleness);
      if (state.selectedService) await selectService(state.selectedService, true);
    } catch (error) {
      showError(error);
    }
  }

  async function selectService(serviceId, keepStep) {
    state.selectedService = serviceId;
    const service = state.services.find((s) => s.id === serviceId);
    $('step-service-name').textContent = service ? label(service.title, serviceId) : serviceId;
    const steps = await api('/api/compliance/summary?' + filterQuery({ groupBy: 'step', serviceId }));
    const rows = steps.rows.map((r) => ({ ...r, display: label(r.label, r.key) }));
    barChart('chart-step', rows, (row) => selectStep(row));
    state.charts['chart-step'].$serviceId = serviceId;
    summaryTable('table-step', t('step'), rows, {
      attr: 'step',
      key: (r) => r.key,
      go: (key) => selectStep(rows.find((r) => r.key === key)),
    });
    if (keepStep && state.selectedStep) await selectStep(state.selectedStep, true);
  }

  async function selectStep(row, keepPage) {
    if (!keepPage) state.offset.cases = 0;
    state.selectedStep = row;
    $('cases-step-name').textContent = row.display || row.key;
    const result = await api(
      '/api/compliance/step-cases?' +
        filterQuery({
          serviceId: state.selectedService,
          stepId: row.key,
          limit: pageSize(),
          offset: state.offset.cases,
        }),
    );
    table(
      'table-cases',
      [t('case'), t('status'), t('unit'), t('deadline')],
      result.cases,
      (c) => [
        esc(c.receiptNumber),
        esc(c.rows.map((r) => statusText(r.status)).join(', ')),
        esc(c.unit),
        esc(c.rows.map((r) => when(r.deadline)).join(', ')),
      ],
      toHistory,
    );
    pager('cases', result);
  }

  async function showHistory(caseId) {
    state.historyCase = caseId;
    const history = await api('/api/cases/' + encodeURIComponent(caseId) + '/history');
    $('history-case').textContent = caseId;
    table(
      'table-history',
      ['#', t('event'), t('actor'), t('occurred'), t('recorded'), t('clause'), t('hash')],
      history.events,
      (e) => {
        const m = e.metadata;
        return [
          e.revision,
          esc(label(e.label, e.type)),
          // The case's applicant acting on their own case is recorded by no name of theirs: their role says who.
          m.actor.id === 'applicant' && m.actor.role === 'applicant'
            ? esc(roleName(m.actor.role, e.actorRoleLabel))
            : `${esc(actorName(m.actor))} (${esc(roleName(m.actor.role, e.actorRoleLabel))})`,
          esc(when(m.occurredAt)),
          esc(when(m.recordedAt)) + (m.backDated ? ` <b>${esc(t('backDated'))}</b>` : ''),
          esc(cite(e.citation)),
          `<code>${esc(String(m.hash).slice(0, 16))}…</code>`,
        ];
      },
    );
  }

  /** What each table downloads: the same filters as on screen, every row (not one page), headings in the page's language. */
  function exportPath(kind) {
    switch (kind) {
      case 'service':
        return '/api/compliance/summary?' + filterQuery({ groupBy: 'service' });
      case 'trend':
        return '/api/compliance/summary?' + filterQuery({ groupBy: 'month' });
      case 'step':
        return state.selectedService
          ? '/api/compliance/summary?' + filterQuery({ groupBy: 'step', serviceId: state.selectedService })
          : null;
      case 'overdue':
        return '/api/compliance/overdue?' + filterQuery();
      case 'atRisk':
        return '/api/compliance/at-risk?' + filterQuery();
      case 'history':
        return state.historyCase ? '/api/cases/' + encodeURIComponent(state.historyCase) + '/history' : null;
      case 'cases':
        return state.selectedStep
          ? '/api/compliance/step-cases?' +
              filterQuery({ serviceId: state.selectedService, stepId: state.selectedStep.key })
          : null;
    }
    return null;
  }

  async function download(kind, format) {
    const path = exportPath(kind);
    if (!path) return;
    try {
      const response = await request(`${path}${path.includes('?') ? '&' : '?'}format=${format}&lang=${state.lang}`);
      if (!response.ok) throw await failure(response);
      const name = /filename="([^"]+)"/.exec(response.headers.get('content-disposition') || '');
      const link = document.createElement('a');
      link.href = URL.createObjectURL(await response.blob());
      link.download = name ? name[1] : `${kind}.${format}`;
      document.body.appendChild(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(link.href), 10000);
    } catch (error) {
      showError(error);
    }
  }

  /**
   * Refreshes when the server says the compliance model moved (debounced); eventsource-parser reads the stream. It
   * reconnects after the server's `retry:` (3 s until it names one), or after Retry-After when it is told to slow
   * down (429); and stops when the session ends or the server says the token expired.
   */
  async function follow(session) {
    const { createParser } = await import('/dashboard/vendor/eventsource-parser.js');
    let timer = null;
    let retryMs = 3000;
    while (state.session === session) {
      let wait = retryMs;
      let waiting = null;
      try {
        const response = await request('/api/compliance/stream', 'text/event-stream');
        if (response.status === 429) {
          waiting = retryAfter(response) || Math.ceil(retryMs / 1000);
          wait = waiting * 1000;
        } else if (response.ok && response.body) {
          state.live = true;
          showLive();
          let first = true;
          const parser = createParser({
            onRetry: (ms) => (retryMs = ms),
            onEvent: (event) => {
              if (event.event === 'token-expired') {
                let detail = null;
                try {
                  detail = JSON.parse(event.data).detail;
                } catch (_error) {
                  /* the event itself says it: expired */
                }
                return unauthorized(session, typeof detail === 'string' ? detail : null, true);
              }
              if (event.event !== 'projected') return;
              if (first) {
                first = false;
                return;
              }
              clearTimeout(timer);
              timer = setTimeout(() => state.session === session && refresh(), 300);
            },
          });
          const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
          for (;;) {
            const { value, done } = await reader.read();
            if (done) break;
            parser.feed(value);
          }
        }
      } catch (error) {
        if (error instanceof Ended) return;
        /* the service did not answer or the stream broke: reconnects below */
      }
      if (state.session !== session) return;
      // Until the stream is back the numbers on screen stand as they are; a 429 says how long that will be.
      state.live = waiting ? { retryIn: waiting } : false;
      showLive();
      await new Promise((r) => setTimeout(r, wait));
    }
  }

  // A JWT's compact form: three base64url parts separated by dots. Anything else (a line break, Cyrillic, a space)
  // is no token, and would make fetch throw on the Authorization header before any request is made. 8 KiB is far
  // above any token we issue and below the server's header limit.
  const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
  const MAX_TOKEN_LENGTH = 8192;
  const isTokenShaped = (token) => token.length <= MAX_TOKEN_LENGTH && JWT_SHAPE.test(token);

  /** The sign-in form, with `loginError` (or none) said above the field. */
  function showSignIn(loginError) {
    state.loginError = loginError;
    showMessage('login-error', loginError);
    $('expired').hidden = true;
    $('login').hidden = false;
    $('token').value = '';
    $('token').focus();
  }

  function start(token) {
    if (!isTokenShaped(token)) {
      // Never stored: a bad token kept in sessionStorage would fail again on every reload.
      sessionStorage.removeItem('token');
      return showSignIn({ say: () => t('tokenMalformed') });
    }
    // A session still under way (none, from the UI) stops before the new one starts.
    if (state.abort) state.abort.abort();
    state.session++;
    const session = state.session;
    state.token = token;
    state.worked = false;
    state.abort = new AbortController();
    state.loginError = state.notice = state.error = null;
    showMessages();
    sessionStorage.setItem('token', token);
    $('login').hidden = true;
    $('expired').hidden = true;
    $('app').hidden = false;
    $('sign-out').hidden = false;
    loadServices()
      .then(refresh)
      .then(() => state.session === session && document.body.setAttribute('data-ready', 'true'))
      .catch(showError);
    follow(session);
  }

  /** What the last reader chose and saw goes with them: the next one may hold other roles. */
  function clearScreen() {
    for (const id of Object.keys(state.charts)) state.charts[id].destroy();
    state.charts = {};
    Object.assign(state, { services: [], selectedService: null, selectedStep: null, historyCase: null, totals: {} });
    for (const list of LISTS) state.offset[list] = 0;
    document.querySelectorAll('main table, nav.pager').forEach((el) => (el.innerHTML = ''));
    for (const id of ['step-service-name', 'cases-step-name', 'history-case']) $(id).textContent = '—';
    $('staleness').textContent = '';
    $('staleness').title = '';
    $('deliveries').hidden = true;
    $('filters').reset();
  }

  $('lang').value = state.lang;
  $('lang').addEventListener('change', () => {
    state.lang = $('lang').value;
    sessionStorage.setItem('lang', state.lang);
    translate();
    if (state.token)
      loadServices()
        .then(refresh)
        .then(() => state.historyCase && showHistory(state.historyCase))
        .catch(showError);
  });
  $('filters').addEventListener('submit', (e) => {
    e.preventDefault();
    for (const list of LISTS) state.offset[list] = 0;
    refresh();
  });
  document.addEventListener('click', (e) => {
    const button = e.target.closest('button');
    if (!button) return;
    const tools = button.closest('.tools[data-export]');
    if (tools) return download(tools.dataset.export, button.dataset.format);
    const nav = button.closest('nav.pager');
    if (!nav || !button.dataset.step) return;
    const list = nav.dataset.list;
    state.offset[list] = Math.max(0, state.offset[list] + Number(button.dataset.step) * pageSize());
    const load =
      list === 'overdue' ? loadOverdue() : list === 'atRisk' ? loadAtRisk() : selectStep(state.selectedStep, true);
    load.catch(showError);
  });
  const signIn = () => start($('token').value.trim());
  $('use-token').addEventListener('click', signIn);
  $('token').addEventListener('keydown', (e) => e.key === 'Enter' && signIn());
  $('sign-in-again').addEventListener('click', () => showSignIn(null));
  $('sign-out').addEventListener('click', () => {
    leave();
    clearScreen();
    state.notice = null;
    showSignIn(null);
  });
  translate();
  const fromHash = new URLSearchParams(location.hash.slice(1)).get('token');
  if (fromHash !== null) history.replaceState(null, '', location.pathname);
  // A token in the address replaces the kept one; either is checked for its shape before it is used or kept.
  const token = fromHash !== null ? fromHash : sessionStorage.getItem('token');
  if (token !== null) start(token);
  else $('login').hidden = false;
})();
