// Live dashboard over the query API: polls every 2 s (the next poll starts when the last one ends,
// so a slow store is never flooded). Plain module, no build step; echarts comes from /vendor.
/* global echarts */

const REFRESH_MS = 2000;
const STAGES = ['awareness', 'consideration', 'purchase', 'retention', 'advocacy'];
const STAGE_COLORS = ['#6c8ef5', '#3ab0c9', '#34a36b', '#e59a1b', '#a05cd6'];
const RANGES = { '1h': 3_600_000, '6h': 6 * 3_600_000, '24h': 24 * 3_600_000, '7d': 7 * 24 * 3_600_000 };

const $ = (selector) => document.querySelector(selector);
const params = new URLSearchParams(location.search);

// An API key may come once as ?key=: it is kept for this tab (sessionStorage) and taken out of the
// address bar at once, so it is not bookmarked, shared or sent again. API calls send it as a Bearer header.
const KEY_STORAGE = 'journey.apiKey';
if (params.has('key')) {
  sessionStorage.setItem(KEY_STORAGE, params.get('key'));
  params.delete('key');
  history.replaceState(null, '', `${location.pathname}${params.size ? `?${params}` : ''}`);
}
$('#site').value = params.get('site') ?? '';
if (params.get('range') in RANGES) $('#range').value = params.get('range');

const charts = {
  funnel: echarts.init($('#funnel-chart')),
  conversion: echarts.init($('#conversion-chart')),
  flow: echarts.init($('#flow-chart')),
  stages: echarts.init($('#stages-chart')),
  attribution: echarts.init($('#attribution-chart')),
};
window.addEventListener('resize', () => Object.values(charts).forEach((c) => c.resize()));

const number = new Intl.NumberFormat('en-US');
const pct = (r) => (r === null || r === undefined ? '–' : `${(r * 100).toFixed(1)}%`);
const stageColor = (stage) => STAGE_COLORS[STAGES.indexOf(stage)] ?? '#8a93a6';

/** Query string for the current controls; the default 24 h window is left to the API's clock. */
function query(extra, windowed) {
  const q = new URLSearchParams();
  const site = $('#site').value.trim();
  if (site) q.set('site', site);
  const range = $('#range').value;
  if (windowed && range !== '24h') q.set('from', String(Date.now() - RANGES[range]));
  for (const [k, v] of Object.entries(extra)) q.set(k, String(v));
  const text = q.toString();
  return text ? `?${text}` : '';
}

class HttpError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

/** `extra` parameters; `windowed`: the endpoint takes the from/to window. */
async function get(path, extra = {}, windowed = true) {
  const key = sessionStorage.getItem(KEY_STORAGE);
  const headers = { accept: 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}) };
  const response = await fetch(`${path}${query(extra, windowed)}`, { headers });
  const body = await response.json();
  if (!response.ok) throw new HttpError(response.status, body?.error?.message ?? `HTTP ${response.status}`);
  return body;
}

/** The churn list names customers: a key of scope dashboard gets 403 for it, and the panel says so. */
const getChurn = () => get('/api/churn', { limit: 12 }, false).catch((error) => (error.status === 403 ? null : Promise.reject(error)));

function headline(id, value, text) {
  const el = document.querySelector(`[data-testid="headline-${id}"]`);
  el.dataset.value = String(value ?? '');
  el.textContent = text;
}

function renderHeadlines({ funnel, stages, alerts, churn }) {
  const entries = funnel.stages[0].entries;
  const purchases = funnel.stages.find((s) => s.stage === 'purchase').entries;
  headline('entries', entries, number.format(entries));
  headline('purchases', purchases, number.format(purchases));
  headline('conversion', funnel.overallConversionRate, pct(funnel.overallConversionRate));
  headline('customers', stages.customers, number.format(stages.customers));
  headline('alerts', alerts.firing, number.format(alerts.firing));
  if (churn) headline('at-risk', churn.atRisk, number.format(churn.atRisk));
  else headline('at-risk', '', '–');
  $('.alert-card').classList.toggle('hot', alerts.firing > 0);
}

function renderFunnel(funnel, dropoff) {
  const rows = [...funnel.stages].reverse();
  charts.funnel.setOption({
    animationDuration: 300,
    grid: { left: 92, right: 96, top: 4, bottom: 4 },
    xAxis: { type: 'value', show: false },
    yAxis: { type: 'category', data: rows.map((s) => s.stage), axisTick: { show: false }, axisLine: { show: false } },
    tooltip: {
      trigger: 'axis',
      axisPointer: { type: 'shadow' },
      formatter: ([p]) => {
        const s = rows[p.dataIndex];
        return `<b>${s.stage}</b><br>entered ${number.format(s.entries)}<br>converted ${number.format(s.conversions)} (${pct(s.conversionRate)})<br>dropped ${number.format(s.dropoffs)}`;
      },
    },
    series: [
      {
        type: 'bar',
        barWidth: '62%',
        data: rows.map((s) => ({ value: s.entries, itemStyle: { color: stageColor(s.stage), borderRadius: 3 } })),
        label: {
          show: true,
          position: 'right',
          formatter: (p) => {
            const s = rows[p.dataIndex];
            return s.stage === 'advocacy' ? number.format(s.entries) : `${number.format(s.entries)}  → ${pct(s.conversionRate)}`;
          },
        },
      },
    ],
  });
  const leaks = dropoff.steps.filter((s) => s.explanation);
  leaks.sort((a, b) => b.explanation.excessDropoffs - a.explanation.excessDropoffs);
  const worst = leaks[0];
  const leak = $('.leak');
  if (!worst) {
    leak.textContent = 'No step loses customers above its average.';
    return;
  }
  const e = worst.explanation;
  const value = e.value ?? '(none)';
  leak.innerHTML = '';
  leak.append('Biggest leak: ');
  const strong = document.createElement('strong');
  strong.textContent = `${worst.stage} · ${e.dimension.replace('_', ' ')} = ${value}`;
  leak.append(strong, ` drops ${pct(e.dropoffRate)} vs ${pct(e.stepDropoffRate)} on average (${number.format(Math.round(e.excessDropoffs))} extra lost)`);
}

function renderConversion(series, alerts) {
  const toMs = Date.parse(series.to);
  const marks = alerts.alerts.map((a) => ({
    firing: a.status === 'firing',
    since: Date.parse(a.since),
    end: a.resolvedAt ? Date.parse(a.resolvedAt) : toMs,
    label: `${a.step} −${Math.round(a.dropPct)}%`,
  }));
  const visible = series.series.filter((s) => s.conversions + s.dropoffs > 0);
  const shown = visible.length > 0 ? visible : series.series.slice(0, 1);
  charts.conversion.setOption(
    {
      animation: false,
      color: shown.map((s) => stageColor(s.stage)),
      grid: { left: 44, right: 16, top: 28, bottom: 24 },
      legend: { top: 0, right: 0, itemWidth: 14, itemHeight: 8, textStyle: { fontSize: 11 } },
      tooltip: { trigger: 'axis', valueFormatter: (v) => (v === null || v === undefined ? '–' : `${v.toFixed(1)}%`) },
      xAxis: { type: 'time', min: Date.parse(series.from), max: toMs, axisLabel: { formatter: '{HH}:{mm}', hideOverlap: true } },
      yAxis: { type: 'value', min: 0, max: 100, axisLabel: { formatter: '{value}%' } },
      series: shown.map((s, i) => ({
        name: `${s.stage} → next`,
        type: 'line',
        // Buckets without decided outcomes are gaps, not zeros: no line is drawn across them.
        showSymbol: true,
        symbolSize: 4,
        connectNulls: false,
        data: s.points.map((p) => [p.t, p.rate === null ? null : p.rate * 100]),
        ...(i === 0
          ? {
              markLine: {
                symbol: 'none',
                label: { formatter: (p) => p.data.label, fontSize: 10, position: 'insideEndTop' },
                data: marks.map((m) => ({
                  xAxis: m.since,
                  label: m.label,
                  lineStyle: { color: m.firing ? '#d64545' : '#9aa2b3', type: 'dashed' },
                })),
              },
              markArea: {
                silent: true,
                data: marks.map((m) => [
                  { xAxis: m.since, itemStyle: { color: m.firing ? 'rgba(214,69,69,0.12)' : 'rgba(150,160,180,0.12)' } },
                  { xAxis: m.end },
                ]),
              },
              markPoint: {
                symbol: 'pin',
                symbolSize: 26,
                label: { formatter: '!', fontWeight: 'bold' },
                data: marks.filter((m) => m.firing).map((m) => ({ coord: [m.since, 96], itemStyle: { color: '#d64545' } })),
              },
            }
          : {}),
      })),
    },
    { replaceMerge: ['series'] },
  );
}

function renderFlow(flow) {
  const nodes = new Map();
  const node = (name, side) => {
    const id = `${side}:${name}`;
    if (!nodes.has(id)) nodes.set(id, { name: id, itemStyle: { color: stageColor(name) }, label: { formatter: name } });
    return id;
  };
  const links = flow.links.map((l) => ({ source: node(l.source, 'from'), target: node(l.target, 'to'), value: l.transitions }));
  charts.flow.setOption(
    {
      animation: false,
      tooltip: {
        formatter: (p) =>
          p.dataType === 'edge'
            ? `${p.data.source.slice(5)} → ${p.data.target.slice(3)}: ${number.format(p.data.value)}`
            : p.name.replace(/^\w+:/, ''),
      },
      series: [
        {
          type: 'sankey',
          left: 8,
          right: 96,
          top: 6,
          bottom: 6,
          nodeWidth: 12,
          nodeGap: 8,
          emphasis: { focus: 'adjacency' },
          lineStyle: { color: 'gradient', opacity: 0.35 },
          label: { fontSize: 11, formatter: (p) => p.name.replace(/^\w+:/, '') },
          data: [...nodes.values()],
          links,
        },
      ],
    },
    { replaceMerge: ['series'] },
  );
}

function renderStages(stages) {
  charts.stages.setOption({
    animationDuration: 300,
    grid: { left: 40, right: 12, top: 18, bottom: 24 },
    tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' } },
    xAxis: { type: 'category', data: stages.stages.map((s) => s.stage), axisLabel: { fontSize: 11, interval: 0 } },
    yAxis: { type: 'value', minInterval: 1 },
    series: [
      {
        type: 'bar',
        barWidth: '55%',
        data: stages.stages.map((s) => ({ value: s.customers, itemStyle: { color: stageColor(s.stage), borderRadius: [3, 3, 0, 0] } })),
        label: { show: true, position: 'top', fontSize: 11, formatter: (p) => pct(stages.stages[p.dataIndex].share) },
      },
    ],
  });
}

const MODEL_NAMES = { markov: 'Markov', first_touch: 'First touch', last_touch: 'Last touch', linear: 'Linear', position_based: 'Position 40/20/40', time_decay: 'Time decay' };

/** Models side by side per channel: one bar series per model, channels ordered by the Markov credit. */
function renderAttribution(attribution) {
  const channels = [...new Set(attribution.models.flatMap((m) => m.rows.map((r) => r.key)))];
  const markov = attribution.models.find((m) => m.model === 'markov');
  const shareOf = (model, key) => model.rows.find((r) => r.key === key)?.share ?? 0;
  if (markov) channels.sort((a, b) => shareOf(markov, b) - shareOf(markov, a));
  charts.attribution.setOption(
    {
      animationDuration: 300,
      grid: { left: 40, right: 12, top: 30, bottom: 24 },
      legend: { top: 0, textStyle: { fontSize: 11 } },
      tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' }, valueFormatter: (v) => pct(v) },
      xAxis: { type: 'category', data: channels, axisLabel: { fontSize: 11, interval: 0 } },
      yAxis: { type: 'value', axisLabel: { formatter: (v) => `${Math.round(v * 100)}%` } },
      series: attribution.models.map((m) => ({ name: MODEL_NAMES[m.model] ?? m.model, type: 'bar', data: channels.map((c) => shareOf(m, c)) })),
    },
    true,
  );
}

// Attribution (rule-based rows written per conversion by the journey step, Markov from a stored run or at query time): polled every 30 s, not 2 s.
const ATTRIBUTION_EVERY_MS = 30_000;
let attributionAt = 0;

async function refreshAttribution() {
  if (Date.now() - attributionAt < ATTRIBUTION_EVERY_MS) return;
  attributionAt = Date.now();
  renderAttribution(await get('/api/attribution'));
}

function cell(text, className) {
  const td = document.createElement('td');
  td.textContent = text;
  if (className) td.className = className;
  return td;
}

function renderChurn(churn) {
  const body = $('[data-testid="churn-table"] tbody');
  if (churn === null) {
    const tr = document.createElement('tr');
    const td = cell('Customer-level data needs a key of scope profiles', 'empty');
    td.colSpan = 4;
    tr.append(td);
    body.replaceChildren(tr);
    return;
  }
  const rows = churn.customers.map((c) => {
    const tr = document.createElement('tr');
    tr.dataset.customer = c.customerId;
    const score = cell(c.score.toFixed(2), 'score');
    const meter = document.createElement('span');
    meter.className = 'meter';
    const fill = document.createElement('i');
    fill.style.width = `${Math.round(c.score * 100)}%`;
    meter.append(fill);
    score.append(meter);
    tr.append(cell(c.customerId), score, cell(c.reasons.join(', ') || '–', 'reasons'), cell(c.nextAction));
    return tr;
  });
  if (rows.length === 0) {
    const tr = document.createElement('tr');
    const td = cell('No customer above the risk threshold', 'empty');
    td.colSpan = 4;
    tr.append(td);
    rows.push(tr);
  }
  body.replaceChildren(...rows);
}

let refreshes = 0;

async function refresh() {
  const updated = $('[data-testid="last-updated"]');
  try {
    const [funnel, dropoff, conversion, alerts, flow, stages, churn] = await Promise.all([
      get('/api/funnel'),
      get('/api/dropoff'),
      get('/api/conversion-over-time'),
      get('/api/alerts'),
      get('/api/stage-flow'),
      get('/api/stages/current', {}, false),
      getChurn(),
    ]);
    renderHeadlines({ funnel, stages, alerts, churn });
    renderFunnel(funnel, dropoff);
    renderConversion(conversion, alerts);
    renderFlow(flow);
    renderStages(stages);
    renderChurn(churn);
    await refreshAttribution();
    refreshes += 1;
    document.body.dataset.refreshes = String(refreshes);
    updated.classList.remove('stale');
    updated.textContent = `updated ${new Date().toLocaleTimeString()}`;
  } catch (error) {
    updated.classList.add('stale');
    updated.textContent = `stale: ${error.message}`;
    // No (valid) key: ask for one and poll again only once it is given.
    if (error.status === 401) return askForKey();
  }
  setTimeout(refresh, REFRESH_MS);
}

function askForKey() {
  $('#key-form').hidden = false;
  $('#key').focus();
}

$('#key-form').addEventListener('submit', (e) => {
  e.preventDefault();
  sessionStorage.setItem(KEY_STORAGE, $('#key').value.trim());
  $('#key').value = '';
  $('#key-form').hidden = true;
  refresh();
});

$('#controls').addEventListener('change', () => {
  const q = new URLSearchParams();
  if ($('#site').value.trim()) q.set('site', $('#site').value.trim());
  if ($('#range').value !== '24h') q.set('range', $('#range').value);
  history.replaceState(null, '', `${location.pathname}${q.size ? `?${q}` : ''}`);
});
$('#controls').addEventListener('submit', (e) => e.preventDefault());

refresh();
