// The audit trail: every call, console or API, with who made it, what it touched and whether it was allowed.
import { rest } from '../js/api.js';
import { h, fill, table, badge, when, failure } from '../js/ui.js';

export async function render(main, ctx) {
  const principal = h('input', { type: 'search', id: 'audit-principal', placeholder: 'Principal ARN', 'aria-label': 'Principal ARN' });
  const action = h('input', { type: 'search', id: 'audit-action', placeholder: 'Action, e.g. ecs:UpdateService', 'aria-label': 'Action' });
  const apply = h('button', { type: 'button' }, 'Search');
  const more = h('button', { type: 'button', id: 'audit-more' }, 'Older events');
  const body = h('div', {}, h('p', { class: 'muted' }, 'Loading…'));
  fill(main, h('h1', {}, 'Audit trail'), h('div', { class: 'toolbar' }, principal, action, apply), body, more);
  let events = [];
  let nextToken = null;

  const draw = () => fill(body, table([
    { title: 'When', cell: (e) => when(e.eventTime) },
    { title: 'Principal', cell: (e) => h('code', {}, e.principalArn) },
    { title: 'Action', cell: (e) => e.action },
    { title: 'Resources', narrow: true, cell: (e) => h('code', {}, (e.resources || []).join(' ')) },
    { title: 'Outcome', cell: (e) => e.allowed && !e.errorCode ? badge('OK', 'ok')
      : [badge(e.allowed ? 'ERROR' : 'DENIED', 'bad'), h('div', { class: 'muted' }, e.errorCode || '')] },
    { title: 'Source', narrow: true, cell: (e) => [e.sourceIp, e.via ? [' ', badge(e.via, 'info')] : null] },
  ], events, { empty: 'No events match.' }));

  async function load(append) {
    try {
      const q = new URLSearchParams({ maxResults: '100' });
      if (principal.value.trim()) q.set('principalArn', principal.value.trim());
      if (action.value.trim()) q.set('action', action.value.trim());
      if (append && nextToken) q.set('nextToken', nextToken);
      const out = await rest('GET', `/v1/audit/events?${q}`);
      events = append ? events.concat(out.events || []) : (out.events || []);
      nextToken = out.nextToken || null;
      more.hidden = !nextToken;
      if (ctx.alive) draw();
    } catch (e) {
      more.hidden = true;
      if (ctx.alive) fill(body, failure(e));
    }
  }
  apply.addEventListener('click', () => load(false));
  for (const input of [principal, action]) input.addEventListener('keydown', (ev) => { if (ev.key === 'Enter') load(false); });
  more.addEventListener('click', () => load(true));
  await load(false);
}
