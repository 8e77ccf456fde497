// Charts: Chart.js 3.9.1 (shipped in /console/vendor, the version Debian packages), loaded only when a view
// draws a chart. A chart panel has range buttons (1 h, 6 h, 1 d, 1 w), refreshes live, and draws alarm
// thresholds as dashed lines.
import { rest } from './api.js';
import { h, errorText } from './ui.js';

let library;
export function loadChartLibrary() {
  if (!library) {
    library = new Promise((resolve, reject) => {
      const script = document.createElement('script');
      script.src = '/console/vendor/chart-3.9.1.min.js';
      script.onload = () => resolve(window.Chart);
      script.onerror = () => { library = null; reject(new Error('Chart.js could not be loaded from the server.')); };
      document.head.append(script);
    });
  }
  return library;
}

export const RANGES = [
  { key: '1h', label: '1 h', seconds: 3600, period: 60 },
  { key: '6h', label: '6 h', seconds: 6 * 3600, period: 300 },
  { key: '1d', label: '1 d', seconds: 86400, period: 900 },
  { key: '1w', label: '1 w', seconds: 7 * 86400, period: 3600 },
];

const COLORS = ['#1d4ed8', '#157f3b', '#a15c00', '#7c3aed', '#0e7490', '#be185d', '#4b5563'];

/**
 * A chart panel. `load(range)` returns {series: [{label, points: [{x: ms, y}], kind?: 'min'|'avg'|'max'}], unit};
 * `thresholds()` returns [{value, label}] drawn across the chart.
 */
export function chartPanel(ctx, { id, title, load, thresholds = async () => [], yMax }) {
  const canvas = h('canvas', { id: `${id}-canvas`, role: 'img', 'aria-label': title });
  const status = h('p', { class: 'muted', id: `${id}-status`, 'aria-live': 'polite' });
  let range = RANGES[0];
  const buttons = RANGES.map((r) => {
    const b = h('button', { type: 'button', 'aria-pressed': String(r === range), dataset: { range: r.key } }, r.label);
    b.addEventListener('click', () => {
      range = r;
      for (const other of buttons) other.setAttribute('aria-pressed', String(other === b));
      refresh();
    });
    return b;
  });
  const section = h('section', { class: 'panel', id, 'aria-label': title },
    h('div', { class: 'toolbar' }, h('h2', { class: 'grow' }, title), h('div', { class: 'ranges', role: 'group', 'aria-label': 'Time range' }, buttons)),
    h('div', { class: 'chart-box' }, canvas), status);
  let chart = null;
  ctx.onLeave(() => { if (chart) chart.destroy(); });

  async function refresh() {
    try {
      const [Chart, data, lines] = await Promise.all([loadChartLibrary(), load(range), thresholds().catch(() => [])]);
      if (!ctx.alive) return;
      const now = Date.now();
      const start = now - range.seconds * 1000;
      const datasets = data.series.map((s, i) => {
        const color = COLORS[i % COLORS.length];
        return {
          label: s.label, data: s.points, borderColor: color, backgroundColor: color,
          borderWidth: s.kind === 'avg' || !s.kind ? 2 : 1, borderDash: s.kind === 'min' || s.kind === 'max' ? [4, 3] : [],
          pointRadius: s.points.length < 40 ? 2 : 0, tension: 0.2, spanGaps: false,
        };
      });
      for (const t of lines) {
        datasets.push({
          label: t.label, data: [{ x: start, y: t.value }, { x: now, y: t.value }], borderColor: '#b42318',
          backgroundColor: '#b42318', borderDash: [8, 4], borderWidth: 2, pointRadius: 0,
        });
      }
      const points = data.series.reduce((n, s) => n + s.points.length, 0);
      canvas.dataset.points = String(points);
      const latest = data.series.map((s) => s.points.length ? `${s.label} ${format(s.points[s.points.length - 1].y)}${data.unit || ''}` : null).filter(Boolean);
      status.textContent = points ? `Latest: ${latest.join(', ')}` : 'No datapoints in this range yet (metrics arrive about once a minute).';
      const scales = {
        x: { type: 'linear', min: start, max: now, ticks: { maxTicksLimit: 6, callback: (v) => tick(v, range) } },
        y: { beginAtZero: true, ...(yMax ? { suggestedMax: yMax } : {}), title: { display: !!data.unit, text: data.unit } },
      };
      if (chart) {
        chart.data.datasets = datasets;
        chart.options.scales = scales;
        chart.update('none');
      } else {
        chart = new Chart(canvas, {
          type: 'line', data: { datasets },
          options: {
            animation: false, responsive: true, maintainAspectRatio: false, parsing: false, normalized: true,
            interaction: { mode: 'nearest', intersect: false },
            plugins: { legend: { position: 'bottom', labels: { boxWidth: 12 } },
              tooltip: { callbacks: { title: (items) => items.length ? new Date(items[0].parsed.x).toLocaleString() : '' } } },
            scales,
          },
        });
      }
    } catch (e) {
      if (ctx.alive) status.textContent = errorText(e);
    }
  }
  refresh();
  ctx.every(range.seconds > 86400 ? 60000 : 15000, refresh);
  return section;
}

function format(v) { return typeof v === 'number' ? (Math.abs(v) >= 100 ? v.toFixed(0) : v.toFixed(1)) : v; }

function tick(ms, range) {
  const d = new Date(ms);
  return range.seconds > 86400 ? d.toLocaleDateString([], { month: 'short', day: 'numeric' }) + ' ' + d.toLocaleTimeString([], { hour: '2-digit' })
    : d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
}

/** CloudWatch GetMetricData for one metric and its dimensions, as min/avg/max (or the given stats). */
export async function metricSeries(range, { namespace = 'AWS/ECS', metric, dimensions, stats = ['Minimum', 'Average', 'Maximum'], label = metric }) {
  const end = Math.floor(Date.now() / 1000);
  const start = end - range.seconds;
  const queries = stats.map((stat, i) => ({
    Id: `m${i}`, MetricStat: { Metric: { Namespace: namespace, MetricName: metric,
      Dimensions: Object.entries(dimensions).map(([Name, Value]) => ({ Name, Value })) }, Period: range.period, Stat: stat },
  }));
  const out = await rest('POST', '/v1/metrics/query', { MetricDataQueries: queries, StartTime: start, EndTime: end });
  return stats.map((stat, i) => {
    const result = (out.MetricDataResults || []).find((r) => r.Id === `m${i}`) || { Timestamps: [], Values: [] };
    const points = (result.Timestamps || []).map((t, j) => ({ x: toMillis(t), y: result.Values[j] })).sort((a, b) => a.x - b.x);
    const kind = stat === 'Minimum' ? 'min' : stat === 'Maximum' ? 'max' : 'avg';
    return { label: stats.length > 1 ? `${label} ${stat.toLowerCase()}` : label, points, kind };
  });
}

function toMillis(t) { return typeof t === 'number' ? (t > 1e12 ? t : t * 1000) : new Date(t).getTime(); }

/** Alarms on this metric and these dimensions, as threshold lines. */
export async function alarmThresholds(metric, dimensions, namespace = 'AWS/ECS') {
  const out = await rest('GET', '/v1/alarms');
  const wanted = Object.entries(dimensions);
  return (out.MetricAlarms || []).filter((a) => a.MetricName === metric && (a.Namespace || namespace) === namespace
    && wanted.every(([n, v]) => (a.Dimensions || []).some((d) => d.Name === n && d.Value === v))
    && (a.Dimensions || []).length === wanted.length)
    .map((a) => ({ value: a.Threshold, label: `alarm ${a.AlarmName} (${a.StateValue}) ${comparison(a.ComparisonOperator)} ${a.Threshold}` }));
}

function comparison(op) {
  return { GreaterThanThreshold: '>', GreaterThanOrEqualToThreshold: '≥', LessThanThreshold: '<', LessThanOrEqualToThreshold: '≤' }[op] || op || '';
}

/** A task's own samples (every few seconds, per container) from the agent's reports. */
export async function taskSeries(range, cluster, taskId, kind) {
  const end = Date.now();
  const start = end - range.seconds * 1000;
  const out = await rest('GET', `/v1/clusters/${encodeURIComponent(cluster)}/tasks/${encodeURIComponent(taskId)}/metrics?startTime=${start}&endTime=${end}`);
  const byContainer = new Map();
  for (const p of out.datapoints || []) {
    const y = kind === 'cpu' ? (p.cpuPercentOfReservation ?? p.cpuPercentOfHost) : (p.memoryBytes ?? null);
    if (y === null || y === undefined) continue;
    if (!byContainer.has(p.containerName)) byContainer.set(p.containerName, []);
    byContainer.get(p.containerName).push({ x: p.timestamp, y: kind === 'cpu' ? y : y / 1048576 });
  }
  return [...byContainer.entries()].map(([name, points]) => ({ label: name, points: points.sort((a, b) => a.x - b.x) }));
}

