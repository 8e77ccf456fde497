// A log viewer: a task's or a service's streams merged in time order, filtered with CloudWatch filter patterns
// (parsed by the server), followed live over server-sent events from the existing tail, and downloadable.
import { logs, restURL } from './api.js';
import { h, fill, errorText } from './ui.js';

const MAX_LINES = 5000;
const MAX_TAILS = 3; // browsers allow six connections per origin over HTTP/1.1: leave room for the rest

/**
 * `sources()` resolves to [{group, stream, label}]. The panel loads the last hour, then follows new lines.
 */
export function logPanel(ctx, { id, title, sources }) {
  const pattern = h('input', { type: 'search', id: `${id}-filter`, placeholder: 'Filter pattern, e.g. ERROR or "exact phrase" or ?WARN ?ERROR',
    'aria-label': 'Filter pattern' });
  const apply = h('button', { type: 'button', id: `${id}-apply` }, 'Filter');
  const live = h('button', { type: 'button', id: `${id}-live`, 'aria-pressed': 'true' }, 'Live tail');
  const download = h('button', { type: 'button', id: `${id}-download` }, 'Download');
  const status = h('span', { class: 'muted', id: `${id}-status`, 'aria-live': 'polite' });
  const box = h('div', { class: 'logs', id: `${id}-lines`, tabindex: '0', role: 'log', 'aria-label': `${title} lines` });
  const section = h('section', { class: 'panel', id, 'aria-label': title },
    h('h2', {}, title), h('div', { class: 'toolbar' }, pattern, apply, live, download, status), box);

  let lines = [];
  let dropped = 0;
  let streams = [];
  let tails = [];
  let following = true;
  const seen = new Set();

  function stopTails() { for (const t of tails) t.close(); tails = []; }
  ctx.onLeave(stopTails);

  function add(event, label) {
    const key = event.eventId || `${event.logStreamName}|${event.timestamp}|${event.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    lines.push({ t: event.timestamp, label, message: event.message, key });
    return true;
  }

  function trim() {
    if (lines.length > MAX_LINES) {
      dropped += lines.length - MAX_LINES;
      // The keys of dropped lines go too: a tail followed for hours keeps memory bounded.
      for (const l of lines.slice(0, lines.length - MAX_LINES)) seen.delete(l.key);
      lines = lines.slice(lines.length - MAX_LINES);
    }
  }

  function draw() {
    const atBottom = box.scrollTop + box.clientHeight >= box.scrollHeight - 20;
    fill(box, dropped ? h('div', { class: 'muted' }, `${dropped} earlier lines not shown`) : null,
      lines.map((l) => h('div', {}, h('span', { class: 't' }, new Date(l.t).toISOString().replace('T', ' ').slice(0, 23)), ' ',
        streams.length > 1 ? [h('span', { class: 's' }, `[${l.label}]`), ' '] : null, l.message)));
    if (!lines.length) box.append(h('div', { class: 'muted' }, streams.length ? 'No lines yet.' : 'This task writes no logs to Stowage (no awslogs log configuration).'));
    if (atBottom || following) box.scrollTop = box.scrollHeight;
    status.textContent = `${lines.length} lines${following ? ', following' : ''}`;
  }

  async function load() {
    stopTails();
    lines = []; dropped = 0; seen.clear();
    status.textContent = 'Loading…';
    try {
      streams = await sources();
      const byGroup = groups(streams);
      const startTime = Date.now() - 3600 * 1000;
      for (const [group, members] of byGroup) {
        const labels = new Map(members.map((m) => [m.stream, m.label]));
        for (let i = 0; i < members.length; i += 100) {
          let nextToken;
          let pages = 0;
          do {
            const body = { logGroupName: group, logStreamNames: members.slice(i, i + 100).map((m) => m.stream), startTime, limit: 1000 };
            if (pattern.value.trim()) body.filterPattern = pattern.value.trim();
            if (nextToken) body.nextToken = nextToken;
            const out = await logs('FilterLogEvents', body);
            for (const e of out.events || []) add(e, labels.get(e.logStreamName) || e.logStreamName);
            nextToken = out.nextToken;
            pages += 1;
          } while (nextToken && pages < 5 && ctx.alive);
        }
      }
      lines.sort((a, b) => a.t - b.t);
      trim();
      if (!ctx.alive) return;
      draw();
      if (following) follow(byGroup);
    } catch (e) {
      if (ctx.alive) { fill(box, h('div', { class: 'error', role: 'alert' }, errorText(e))); status.textContent = ''; }
    }
  }

  function follow(byGroup) {
    stopTails();
    let n = 0;
    for (const [group, members] of byGroup) {
      if (n++ >= MAX_TAILS) break;
      const labels = new Map(members.map((m) => [m.stream, m.label]));
      const query = new URLSearchParams({ duration: '3600' });
      if (pattern.value.trim()) query.set('filterPattern', pattern.value.trim());
      const source = new EventSource(restURL(`/v1/logs/groups/${encodeURIComponent(group)}/tail?${query}`));
      source.addEventListener('log', (msg) => {
        let event;
        try { event = JSON.parse(msg.data); } catch { return; }
        if (!labels.has(event.logStreamName)) return;
        if (add(event, labels.get(event.logStreamName))) { trim(); draw(); }
      });
      source.onerror = () => { status.textContent = `${lines.length} lines; reconnecting the live tail…`; };
      tails.push(source);
    }
  }

  apply.addEventListener('click', load);
  pattern.addEventListener('keydown', (ev) => { if (ev.key === 'Enter') load(); });
  live.addEventListener('click', () => {
    following = !following;
    live.setAttribute('aria-pressed', String(following));
    if (following) follow(groups(streams)); else stopTails();
    draw();
  });
  download.addEventListener('click', () => {
    const text = lines.map((l) => `${new Date(l.t).toISOString()} ${l.label} ${l.message}`).join('\n') + '\n';
    const url = URL.createObjectURL(new Blob([text], { type: 'text/plain' }));
    const a = h('a', { href: url, download: `${title.replace(/[^A-Za-z0-9._-]+/g, '_')}.log` });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  });
  load();
  return section;
}

function groups(streams) {
  const byGroup = new Map();
  for (const s of streams) {
    if (!byGroup.has(s.group)) byGroup.set(s.group, []);
    byGroup.get(s.group).push(s);
  }
  return byGroup;
}
