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
    expired: false,
  };
  const $ = (id) => document.getElementById(id);
  const t = (key) => (I18N[state.lang] && I18N[state.lang][key]) || I18N.en[key] || key;
  const label = (l, fallback) => (l && (l[state.lang === 'en' ? 'ru' : state.lang] || l.ru)) || fallback;
  const roleName = (id, l) => (state.lang === 'en' ? ROLES_EN[id] : l && l[state.lang]) || label(l, id);
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
  }

  function showLive() {
    $('live').textContent = state.live ? '● ' + t('live') : '';
  }

  class Expired extends Error {}

  /** A 401 means the token is no longer good (expired, or revoked): the page says so and offers to sign in again. */
  function expired() {
    state.expired = true;
    state.live = false;
    showLive();
    sessionStorage.removeItem('token');
    $('app').hidden = true;
    $('expired').hidden = false;
    $('sign-in-again').focus();
  }

  async function request(path, accept) {
    const response = await fetch(path, {
      headers: { authorization: 'Bearer ' + state.token, ...(accept ? { accept } : {}) },
    });
    if (response.status === 401) {
      expired();
      throw new Expired(t('expired'));
    }
    return response;
  }

  async function api(path) {
    const response = await request(path);
    const body = await response.json().catch(() => null);
    if (!response.ok) throw new Error((body && (body.detail || body.title)) || response.status + '');
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
        const go = () => open.go(tr.dataset[open.attr]);
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
        onClick: (_e, elements) => elements.length && onClick && onClick(rows[elements[0].index]),
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
    $('error').textContent = '';
    try {
      const [services, trend, deliveries] = await Promise.all([
        api('/api/compliance/summary?' + filterQuery({ groupBy: 'service' })),
        api('/api/compliance/summary?' + filterQuery({ groupBy: 'month' })),
        // Delivery state is for auditors and admins; a head's page goes without it.
        api('/api/webhooks/status').catch((e) => (e instanceof Expired ? Promise.reject(e) : null)),
        loadOverdue(),
        loadAtRisk(),
      ]);
      $('deliveries').hidden = !deliveries;
      if (deliveries)
        $('deliveries-state').textContent =
          `${t('pending')} ${deliveries.pending} · ${t('delivered')} ${deliveries.delivered} · ${t('dead')} ${deliveries.dead} · ${t('lag')} ${Math.round(deliveries.lagSeconds)} s`;
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
      if (!(error instanceof Expired)) $('error').textContent = error.message;
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
            : `${esc(m.actor.name)} (${esc(roleName(m.actor.role, e.actorRoleLabel))})`,
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
      if (!response.ok)
        throw new Error(((await response.json().catch(() => null)) || {}).detail || String(response.status));
      const name = /filename="([^"]+)"/.exec(response.headers.get('content-disposition') || '');
      const link = document.createElement('a');
      link.href = URL.createObjectURL(await response.blob());
      link.download = name ? name[1] : `${kind}.${format}`;
      document.body.appendChild(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(link.href), 10000);
    } catch (error) {
      if (!(error instanceof Expired)) $('error').textContent = error.message;
    }
  }

  /** Refreshes when the server says the compliance model moved (debounced); eventsource-parser reads the stream. */
  async function follow() {
    const { createParser } = await import('/dashboard/vendor/eventsource-parser.js');
    let timer = null;
    while (!state.expired) {
      try {
        const response = await request('/api/compliance/stream', 'text/event-stream');
        if (!response.ok || !response.body) throw new Error(String(response.status));
        state.live = true;
        showLive();
        let first = true;
        const parser = createParser({
          onEvent: (event) => {
            if (event.event !== 'projected') return;
            if (first) {
              first = false;
              return;
            }
            clearTimeout(timer);
            timer = setTimeout(refresh, 300);
          },
        });
        const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          parser.feed(value);
        }
      } catch (_error) {
        /* reconnects below, unless the token expired */
      }
      state.live = false;
      showLive();
      if (!state.expired) await new Promise((r) => setTimeout(r, 3000));
    }
  }

  function start(token) {
    state.token = token;
    state.expired = false;
    sessionStorage.setItem('token', token);
    $('login').hidden = true;
    $('expired').hidden = true;
    $('app').hidden = false;
    loadServices()
      .then(refresh)
      .then(() => !state.expired && document.body.setAttribute('data-ready', 'true'))
      .catch((e) => !(e instanceof Expired) && ($('error').textContent = e.message));
    follow();
  }

  $('lang').value = state.lang;
  $('lang').addEventListener('change', () => {
    state.lang = $('lang').value;
    sessionStorage.setItem('lang', state.lang);
    translate();
    if (state.token && !state.expired)
      loadServices()
        .then(refresh)
        .then(() => state.historyCase && showHistory(state.historyCase));
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
    load.catch((error) => !(error instanceof Expired) && ($('error').textContent = error.message));
  });
  $('use-token').addEventListener('click', () => start($('token').value.trim()));
  $('sign-in-again').addEventListener('click', () => {
    $('expired').hidden = true;
    $('login').hidden = false;
    $('token').value = '';
    $('token').focus();
  });
  translate();
  const fromHash = new URLSearchParams(location.hash.slice(1)).get('token');
  if (fromHash) history.replaceState(null, '', location.pathname);
  const token = fromHash || sessionStorage.getItem('token');
  if (token) start(token);
  else $('login').hidden = false;
})();
