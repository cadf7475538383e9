// The compliance dashboard: reads the compliance API with the caller's bearer token, draws with Chart.js,
// refreshes when the server reports newly projected events (Server-Sent Events read through fetch, so the
// token travels in a header, never in a URL).
(function () {
  'use strict';

  const I18N = {
    ru: {
      title: 'Соблюдение сроков государственных услуг', language: 'Язык', token: 'Токен доступа (Bearer)', signIn: 'Войти',
      service: 'Услуга', unit: 'Подразделение', from: 'С месяца', to: 'По месяц', apply: 'Применить', all: 'все',
      byService: 'Доля сроков, соблюдённых по услугам, %', bySteps: 'По шагам', trend: 'Динамика по месяцам, %', overdue: 'Просроченные шаги',
      cases: 'Дела шага', history: 'История дела', rate: 'Соблюдено, %', met: 'в срок', breached: 'нарушено', open: 'в работе', overdueCount: 'просрочено', notApplicableRow: 'не применяется', notApplicable: 'не применялось',
      total: 'всего', case: 'Дело', step: 'Шаг', deadline: 'Срок', late: 'Просрочка', status: 'Статус', event: 'Событие', actor: 'Исполнитель',
      occurred: 'Произошло', recorded: 'Записано', clause: 'Пункт', hash: 'Хеш', stale: 'Данные на позиции', at: 'записано', live: 'обновляется',
      p50: 'медиана', p90: '90-й процентиль', unitMinutes: 'мин', unitWorkingHours: 'раб. ч', unitDays: 'дн', hours: 'ч', backDated: 'задним числом',
      atRisk: 'Под угрозой срыва срока', timeLeft: 'Осталось', warning: 'Предупреждение', dueToday: 'срок сегодня',
      deliveries: 'Доставка во внешние системы', pending: 'в очереди', delivered: 'доставлено', dead: 'не доставлено', lag: 'задержка',
      pageTitle: 'reglament — соблюдение сроков', tokenHint: 'Токен выдаёт администратор: npm run cli -- mint-token --roles auditor',
    },
    kk: {
      title: 'Мемлекеттік қызметтер мерзімдерінің сақталуы', language: 'Тіл', token: 'Қол жеткізу токені (Bearer)', signIn: 'Кіру',
      service: 'Қызмет', unit: 'Бөлімше', from: 'Айдан бастап', to: 'Айға дейін', apply: 'Қолдану', all: 'барлығы',
      byService: 'Қызметтер бойынша сақталған мерзімдер үлесі, %', bySteps: 'Қадамдар бойынша', trend: 'Айлар бойынша серпін, %', overdue: 'Мерзімі өткен қадамдар',
      cases: 'Қадамның істері', history: 'Істің тарихы', rate: 'Сақталды, %', met: 'мерзімінде', breached: 'бұзылды', open: 'жұмыста', notApplicableRow: 'қолданылмайды', notApplicable: 'қолданылмады', overdueCount: 'мерзімі өткен',
      total: 'барлығы', case: 'Іс', step: 'Қадам', deadline: 'Мерзім', late: 'Кешігу', status: 'Мәртебе', event: 'Оқиға', actor: 'Орындаушы',
      occurred: 'Болған уақыты', recorded: 'Жазылған уақыты', clause: 'Тармақ', hash: 'Хэш', stale: 'Деректер позициясы', at: 'жазылды', live: 'жаңартылуда',
      p50: 'медиана', p90: '90-шы процентиль', unitMinutes: 'мин', unitWorkingHours: 'жұм. сағ', unitDays: 'күн', hours: 'сағ', backDated: 'кейінгі күнмен',
      atRisk: 'Мерзімі бұзылу қаупінде', timeLeft: 'Қалды', warning: 'Ескерту', dueToday: 'мерзімі бүгін',
      deliveries: 'Сыртқы жүйелерге жеткізу', pending: 'кезекте', delivered: 'жеткізілді', dead: 'жеткізілмеді', lag: 'кідіріс',
      pageTitle: 'reglament — мерзімдердің сақталуы', tokenHint: 'Токенді әкімші береді: npm run cli -- mint-token --roles auditor',
    },
    en: {
      title: 'Public service deadline compliance', language: 'Language', token: 'Access token (Bearer)', signIn: 'Sign in',
      service: 'Service', unit: 'Unit', from: 'From month', to: 'To month', apply: 'Apply', all: 'all',
      byService: 'Deadlines met by service, %', bySteps: 'By step', trend: 'Monthly trend, %', overdue: 'Overdue steps',
      cases: 'Cases of step', history: 'Case history', rate: 'Met, %', met: 'met', breached: 'breached', open: 'open', overdueCount: 'overdue', notApplicableRow: 'not applicable', notApplicable: 'not applicable',
      total: 'total', case: 'Case', step: 'Step', deadline: 'Deadline', late: 'Overdue by', status: 'Status', event: 'Event', actor: 'Actor',
      occurred: 'Occurred', recorded: 'Recorded', clause: 'Clause', hash: 'Hash', stale: 'Data as of position', at: 'recorded', live: 'live',
      p50: 'median', p90: '90th percentile', unitMinutes: 'min', unitWorkingHours: 'working h', unitDays: 'days', hours: 'h', backDated: 'back-dated',
      atRisk: 'At risk', timeLeft: 'Time left', warning: 'Warning', dueToday: 'due today',
      deliveries: 'Delivery to back-office systems', pending: 'pending', delivered: 'delivered', dead: 'dead-lettered', lag: 'lag',
      pageTitle: 'reglament — deadline compliance', tokenHint: 'An administrator issues tokens: npm run cli -- mint-token --roles auditor',
    },
  };

  const state = { lang: sessionStorage.getItem('lang') || 'ru', token: null, services: [], selectedService: null, selectedStep: null, historyCase: null, live: false, charts: {}, labels: {} };
  const $ = (id) => document.getElementById(id);
  const t = (key) => (I18N[state.lang] && I18N[state.lang][key]) || I18N.en[key] || key;
  const label = (l, fallback) => (l && (l[state.lang === 'en' ? 'ru' : state.lang] || l.ru)) || fallback;
  // Clause citations come from the server in every language, the appendix included (order 184 numbers paragraphs per appendix).
  const cite = (c) => (c ? c[state.lang] || c.ru : '');
  const esc = (v) => String(v == null ? '' : v).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
  const pct = (rate) => (rate == null ? null : Math.round(rate * 1000) / 10);

  function translate() {
    document.documentElement.lang = state.lang;
    document.title = t('pageTitle');
    document.querySelectorAll('[data-i18n]').forEach((el) => (el.textContent = t(el.dataset.i18n)));
    showLive();
  }

  function showLive() {
    $('live').textContent = state.live ? '● ' + t('live') : '';
  }

  async function api(path) {
    const response = await fetch(path, { headers: { authorization: 'Bearer ' + state.token } });
    const body = await response.json().catch(() => null);
    if (!response.ok) throw new Error((body && (body.detail || body.title)) || response.status + '');
    return body;
  }

  function filterQuery(extra) {
    const q = new URLSearchParams();
    const service = $('f-service').value;
    const unit = $('f-unit').value;
    if (service) q.set('serviceId', service);
    if (unit) q.set('unit', unit);
    if ($('f-from').value) q.set('from', $('f-from').value);
    if ($('f-to').value) q.set('to', $('f-to').value);
    for (const [k, v] of Object.entries(extra || {})) if (v != null) q.set(k, v);
    return q.toString();
  }

  function barChart(id, rows, onClick) {
    // Regulation titles are long: the axis shows the start, the tooltip the whole title.
    const data = { labels: rows.map((r) => (r.display.length > 42 ? r.display.slice(0, 40) + '…' : r.display)), datasets: [{ label: t('rate'), data: rows.map((r) => pct(r.complianceRate)), backgroundColor: rows.map((r) => (r.complianceRate != null && r.complianceRate < 0.8 ? '#d9534f' : '#3b7dd8')) }] };
    if (state.charts[id]) state.charts[id].destroy();
    state.charts[id] = new Chart($(id), {
      type: 'bar',
      data,
      options: {
        animation: false,
        indexAxis: 'y',
        scales: { x: { min: 0, max: 100 } },
        plugins: { legend: { display: false }, tooltip: { callbacks: { title: (items) => rows[items[0].dataIndex].display, afterLabel: (ctx) => describe(rows[ctx.dataIndex]) } } },
        onClick: (_e, elements) => elements.length && onClick && onClick(rows[elements[0].index]),
      },
    });
    state.charts[id].$rows = rows;
  }

  function describe(r) {
    const unit = r.durationUnit === 'minutes' ? t('unitMinutes') : r.durationUnit === 'working-hours' ? t('unitWorkingHours') : t('unitDays');
    return `${t('total')} ${r.total} · ${t('met')} ${r.met} · ${t('breached')} ${r.breached} · ${t('overdueCount')} ${r.overdue} · ${t('open')} ${r.open}` +
      (r.notApplicable ? ` · ${t('notApplicable')} ${r.notApplicable}` : '') + (r.durationP50 != null ? ` · ${t('p50')} ${r.durationP50} ${unit}, ${t('p90')} ${r.durationP90} ${unit}` : '');
  }

  const when = (iso) => (iso ? new Date(iso).toLocaleString(state.lang === 'en' ? 'en-GB' : state.lang === 'kk' ? 'kk-KZ' : 'ru-RU', { timeZone: 'Asia/Almaty' }) : '—');
  const lateness = (minutes) => (minutes >= 2880 ? `${Math.floor(minutes / 1440)} ${t('unitDays')}` : `${Math.floor(minutes / 60)} ${t('hours')}`);
  const statusText = (s) => (s === 'overdue' ? t('overdueCount') : s === 'not-applicable' ? t('notApplicableRow') : t(s));

  function showStaleness(s) {
    $('staleness').textContent = `${t('stale')} ${s.position}` + (s.at ? ` (${t('at')} ${when(s.at)})` : '');
  }

  async function loadServices() {
    const [regs, units] = await Promise.all([api('/api/regulations'), api('/api/compliance/summary?groupBy=unit')]);
    const versions = regs.versions || regs;
    const byService = new Map();
    for (const v of versions) byService.set(v.serviceId, v.title || v.titles || null);
    state.services = [...byService.entries()].map(([id, title]) => ({ id, title }));
    const select = $('f-service');
    select.innerHTML = `<option value="">${esc(t('all'))}</option>` + state.services.map((s) => `<option value="${esc(s.id)}">${esc(label(s.title, s.id))}</option>`).join('');
    $('f-unit').innerHTML = `<option value="">${esc(t('all'))}</option>` + units.rows.map((r) => `<option value="${esc(r.key)}">${esc(r.key)}</option>`).join('');
  }

  const UNIT_KEYS = { minutes: 'unitMinutes', 'working-hours': 'unitWorkingHours', 'calendar-days': 'unitDays' };
  const left = (tl) => (tl ? `${tl.value} ${t(UNIT_KEYS[tl.unit] || 'unitDays')}` : '—');

  async function refresh() {
    $('error').textContent = '';
    try {
      const [services, trend, overdue, atRisk, deliveries] = await Promise.all([
        api('/api/compliance/summary?' + filterQuery({ groupBy: 'service' })),
        api('/api/compliance/summary?' + filterQuery({ groupBy: 'month' })),
        api('/api/compliance/overdue?' + filterQuery({ limit: 50 })),
        api('/api/compliance/at-risk?' + filterQuery({ limit: 50 })),
        // Delivery state is for auditors and admins; a head's page goes without it.
        api('/api/webhooks/status').catch(() => null),
      ]);
      $('table-at-risk').innerHTML = `<tr><th>${esc(t('case'))}</th><th>${esc(t('step'))}</th><th>${esc(t('unit'))}</th><th>${esc(t('deadline'))}</th><th>${esc(t('timeLeft'))}</th><th>${esc(t('warning'))}</th></tr>` +
        atRisk.rows.map((r) => `<tr class="clickable" data-case="${esc(r.caseId)}"><td>${esc(r.receiptNumber)}</td><td>${esc(label(r.label, r.stepId))}</td><td>${esc(r.unit)}</td><td>${esc(when(r.deadline))}${r.dueToday ? ' · ' + esc(t('dueToday')) : ''}</td><td>${esc(left(r.timeLeft))}</td><td class="late">${r.threshold}%</td></tr>`).join('');
      $('table-at-risk').querySelectorAll('tr[data-case]').forEach((tr) => tr.addEventListener('click', () => showHistory(tr.dataset.case)));
      $('deliveries').hidden = !deliveries;
      if (deliveries) $('deliveries-state').textContent = `${t('pending')} ${deliveries.pending} · ${t('delivered')} ${deliveries.delivered} · ${t('dead')} ${deliveries.dead} · ${t('lag')} ${Math.round(deliveries.lagSeconds)} s`;
      const serviceRows = services.rows.map((r) => ({ ...r, display: label(r.label, r.key) }));
      barChart('chart-service', serviceRows, (row) => selectService(row.key));
      $('table-service').innerHTML = `<tr><th>${esc(t('service'))}</th><th>${esc(t('rate'))}</th><th>${esc(t('total'))}</th><th>${esc(t('met'))}</th><th>${esc(t('breached'))}</th><th>${esc(t('overdueCount'))}</th><th>${esc(t('open'))}</th></tr>` +
        serviceRows.map((r) => `<tr class="clickable" data-service="${esc(r.key)}"><td>${esc(r.display)}</td><td>${pct(r.complianceRate) ?? '—'}</td><td>${r.total}</td><td>${r.met}</td><td>${r.breached}</td><td>${r.overdue}</td><td>${r.open}</td></tr>`).join('');
      $('table-service').querySelectorAll('tr[data-service]').forEach((tr) => tr.addEventListener('click', () => selectService(tr.dataset.service)));

      if (state.charts['chart-trend']) state.charts['chart-trend'].destroy();
      state.charts['chart-trend'] = new Chart($('chart-trend'), {
        type: 'line',
        data: { labels: trend.rows.map((r) => r.key), datasets: [{ label: t('rate'), data: trend.rows.map((r) => pct(r.complianceRate)), borderColor: '#3b7dd8', tension: 0.2 }] },
        options: { animation: false, scales: { y: { min: 0, max: 100 } } },
      });
      state.charts['chart-trend'].$rows = trend.rows;

      $('table-overdue').innerHTML = `<tr><th>${esc(t('case'))}</th><th>${esc(t('step'))}</th><th>${esc(t('unit'))}</th><th>${esc(t('deadline'))}</th><th>${esc(t('late'))}</th></tr>` +
        overdue.rows.map((r) => `<tr class="clickable" data-case="${esc(r.caseId)}"><td>${esc(r.receiptNumber)}</td><td>${esc(label(r.label, r.stepId))}</td><td>${esc(r.unit)}</td><td>${esc(when(r.deadline))}</td><td class="late">${esc(lateness(r.overdueMinutes))}</td></tr>`).join('');
      $('table-overdue').querySelectorAll('tr[data-case]').forEach((tr) => tr.addEventListener('click', () => showHistory(tr.dataset.case)));
      showStaleness(services.staleness);
      if (state.selectedService) await selectService(state.selectedService, true);
    } catch (error) {
      $('error').textContent = error.message;
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
    if (keepStep && state.selectedStep) await selectStep(state.selectedStep);
  }

  async function selectStep(row) {
    state.selectedStep = row;
    $('cases-step-name').textContent = row.display || row.key;
    const result = await api('/api/compliance/step-cases?' + filterQuery({ serviceId: state.selectedService, stepId: row.key, limit: 100 }));
    $('table-cases').innerHTML = `<tr><th>${esc(t('case'))}</th><th>${esc(t('status'))}</th><th>${esc(t('unit'))}</th><th>${esc(t('deadline'))}</th></tr>` +
      result.cases.map((c) => `<tr class="clickable" data-case="${esc(c.caseId)}"><td>${esc(c.receiptNumber)}</td><td>${esc(c.rows.map((r) => statusText(r.status)).join(', '))}</td><td>${esc(c.unit)}</td><td>${esc(c.rows.map((r) => when(r.deadline)).join(', '))}</td></tr>`).join('');
    $('table-cases').querySelectorAll('tr[data-case]').forEach((tr) => tr.addEventListener('click', () => showHistory(tr.dataset.case)));
  }

  async function showHistory(caseId) {
    state.historyCase = caseId;
    const history = await api('/api/cases/' + encodeURIComponent(caseId) + '/history');
    $('history-case').textContent = caseId;
    $('table-history').innerHTML = `<tr><th>#</th><th>${esc(t('event'))}</th><th>${esc(t('actor'))}</th><th>${esc(t('occurred'))}</th><th>${esc(t('recorded'))}</th><th>${esc(t('clause'))}</th><th>${esc(t('hash'))}</th></tr>` +
      history.events.map((e) => {
        const m = e.metadata;
        return `<tr><td>${e.revision}</td><td>${esc(label(e.label, e.type))}</td><td>${esc(m.actor.name)} (${esc(label(e.actorRoleLabel, m.actor.role))})</td><td>${esc(when(m.occurredAt))}</td><td>${esc(when(m.recordedAt))}${m.backDated ? ` <b>${esc(t('backDated'))}</b>` : ''}</td><td>${esc(cite(e.citation))}</td><td><code>${esc(String(m.hash).slice(0, 16))}…</code></td></tr>`;
      }).join('');
  }

  /** Refreshes when the server says the compliance model moved (debounced). */
  async function follow() {
    let timer = null;
    for (;;) {
      try {
        const response = await fetch('/api/compliance/stream', { headers: { authorization: 'Bearer ' + state.token, accept: 'text/event-stream' } });
        if (!response.ok || !response.body) throw new Error(String(response.status));
        state.live = true;
        showLive();
        const reader = response.body.getReader();
        const decoder = new TextDecoder();
        let buffer = '';
        let first = true;
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += decoder.decode(value, { stream: true });
          let cut;
          while ((cut = buffer.indexOf('\n\n')) >= 0) {
            const chunk = buffer.slice(0, cut);
            buffer = buffer.slice(cut + 2);
            if (!/^event: projected/m.test(chunk)) continue;
            if (first) { first = false; continue; }
            clearTimeout(timer);
            timer = setTimeout(refresh, 300);
          }
        }
      } catch (_error) {
        /* reconnects below */
      }
      state.live = false;
      showLive();
      await new Promise((r) => setTimeout(r, 3000));
    }
  }

  function start(token) {
    state.token = token;
    sessionStorage.setItem('token', token);
    $('login').hidden = true;
    $('app').hidden = false;
    loadServices().then(refresh).then(() => document.body.setAttribute('data-ready', 'true')).catch((e) => ($('error').textContent = e.message));
    follow();
  }

  $('lang').value = state.lang;
  $('lang').addEventListener('change', () => {
    state.lang = $('lang').value;
    sessionStorage.setItem('lang', state.lang);
    translate();
    if (state.token) loadServices().then(refresh).then(() => state.historyCase && showHistory(state.historyCase));
  });
  $('filters').addEventListener('submit', (e) => {
    e.preventDefault();
    refresh();
  });
  $('use-token').addEventListener('click', () => start($('token').value.trim()));
  translate();
  const fromHash = new URLSearchParams(location.hash.slice(1)).get('token');
  if (fromHash) history.replaceState(null, '', location.pathname);
  const token = fromHash || sessionStorage.getItem('token');
  if (token) start(token);
  else $('login').hidden = false;
})();
