// Alarms: state, what they watch and their threshold; choosing one shows its metric with the threshold drawn,
// and its state history.
import { rest } from '../js/api.js';
import { chartPanel, metricSeries } from '../js/charts.js';
import { h, fill, changed, panel, table, badge, when, failure } from '../js/ui.js';

const OPS = { GreaterThanThreshold: '>', GreaterThanOrEqualToThreshold: '≥', LessThanThreshold: '<', LessThanOrEqualToThreshold: '≤' };

export async function render(main, ctx) {
  const body = h('div', {}, h('p', { class: 'muted' }, 'Loading…'));
  const detail = h('div', { id: 'alarm-detail' });
  fill(main, h('h1', {}, 'Alarms'), panel(null, body), detail);
  let selected = null;
  let detailCtx = null;

  function watches(a) {
    if (a.MetricName) return `${a.Namespace} ${a.MetricName} ${(a.Dimensions || []).map((d) => `${d.Name}=${d.Value}`).join(' ')}`;
    return (a.Metrics || []).map((m) => m.Expression || (m.MetricStat && m.MetricStat.Metric.MetricName)).filter(Boolean).join(', ') || '—';
  }

  async function show(a) {
    selected = a.AlarmName;
    if (detailCtx) { detailCtx.alive = false; detailCtx.cleanups.forEach((fn) => fn()); }
    // A chart inside the view lives as long as this selection: its own timers, stopped on the next choice.
    detailCtx = { alive: true, cleanups: [], onLeave(fn) { this.cleanups.push(fn); },
      every(ms, fn) { const id = setInterval(() => { if (this.alive && ctx.alive) fn(); }, ms); this.cleanups.push(() => clearInterval(id)); } };
    ctx.onLeave(() => { detailCtx.alive = false; detailCtx.cleanups.forEach((fn) => fn()); });
    const history = h('div', {}, h('p', { class: 'muted' }, 'Loading history…'));
    const parts = [h('h2', {}, `Alarm ${a.AlarmName}`), h('p', {}, badge(a.StateValue), ' ', a.StateReason || '')];
    if (a.MetricName) {
      const dims = Object.fromEntries((a.Dimensions || []).map((d) => [d.Name, d.Value]));
      parts.push(chartPanel(detailCtx, { id: 'chart-alarm', title: `${a.MetricName} (${a.Statistic || 'Average'})`,
        load: async (range) => ({ unit: a.Unit === 'Percent' ? '%' : '', series: await metricSeries(range, { namespace: a.Namespace, metric: a.MetricName,
          dimensions: dims, stats: [a.Statistic || 'Average'] }) }),
        thresholds: async () => [{ value: a.Threshold, label: `threshold ${OPS[a.ComparisonOperator] || ''} ${a.Threshold}` }] }));
    }
    parts.push(panel('History', history));
    fill(detail, h('section', { class: 'panel', 'aria-label': `Alarm ${a.AlarmName}` }, parts));
    try {
      const out = await rest('GET', `/v1/alarms/${encodeURIComponent(a.AlarmName)}/history`);
      fill(history, table([
        { title: 'When', cell: (i) => when(i.Timestamp) },
        { title: 'Type', cell: (i) => i.HistoryItemType },
        { title: 'Summary', cell: (i) => i.HistorySummary },
      ], out.AlarmHistoryItems || [], { empty: 'No history yet.' }));
    } catch (e) {
      fill(history, failure(e));
    }
  }

  const load = async () => {
    try {
      const out = await rest('GET', '/v1/alarms');
      const alarms = out.MetricAlarms || [];
      if (!ctx.alive) return;
      changed(body, alarms.map((a) => [a.AlarmName, a.StateValue, a.Threshold, a.StateUpdatedTimestamp]), () => table([
        { title: 'Alarm', cell: (a) => {
          const b = h('button', { type: 'button', class: 'link', 'aria-pressed': String(a.AlarmName === selected) }, a.AlarmName);
          b.addEventListener('click', () => show(a));
          return b;
        } },
        { title: 'State', cell: (a) => badge(a.StateValue) },
        { title: 'Watches', cell: (a) => h('code', {}, watches(a)) },
        { title: 'Threshold', cell: (a) => `${OPS[a.ComparisonOperator] || a.ComparisonOperator || ''} ${a.Threshold ?? ''}` },
        { title: 'Since', narrow: true, cell: (a) => when(a.StateUpdatedTimestamp) },
      ], alarms, { empty: 'No alarms.' }));
    } catch (e) {
      if (ctx.alive) fill(body, failure(e));
    }
  };
  await load();
  ctx.every(15000, load);
}
