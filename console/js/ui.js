// DOM helpers shared by every view. Text always goes in as text nodes, never as HTML.

/** h('a', {href: '#/x', class: 'y'}, 'text', child) */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith('on') && typeof value === 'function') el.addEventListener(key.slice(2), value);
    else if (key === 'class') el.className = value;
    else if (key === 'dataset') Object.assign(el.dataset, value);
    else if (value === true) el.setAttribute(key, '');
    else el.setAttribute(key, String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replaces an element's content. */
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

export function panel(title, ...children) {
  return h('section', { class: 'panel', 'aria-label': typeof title === 'string' ? title : undefined },
    title ? h('h2', {}, title) : null, ...children);
}

const GOOD = ['ACTIVE', 'RUNNING', 'HEALTHY', 'COMPLETED', 'OK', 'PRIMARY', 'true'];
const BAD = ['FAILED', 'UNHEALTHY', 'ALARM', 'STOPPED', 'INACTIVE', 'false', 'DEREGISTERING'];
const WARN = ['PENDING', 'PROVISIONING', 'ACTIVATING', 'DRAINING', 'IN_PROGRESS', 'DEACTIVATING', 'STOPPING',
  'DEPROVISIONING', 'INSUFFICIENT_DATA', 'UNKNOWN', 'ACTIVE_DEPLOYMENT', 'DEGRADED'];

export function badge(value, kind) {
  const text = value === undefined || value === null || value === '' ? '—' : String(value);
  const cls = kind || (GOOD.includes(text) ? 'ok' : BAD.includes(text) ? 'bad' : WARN.includes(text) ? 'warn' : 'none');
  return h('span', { class: `badge ${cls}` }, text);
}

/** A bar: used of total; a usage bar turns amber past 80% and red past 95%, a progress bar never does. */
export function bar(used, total, label, { progress = false } = {}) {
  const pct = total > 0 ? Math.min(100, Math.round((used / total) * 100)) : 0;
  const i = h('i');
  i.style.width = `${pct}%`;
  const level = progress ? '' : pct >= 95 ? 'bad' : pct >= 80 ? 'warn' : '';
  return h('div', { title: label || `${used} of ${total} (${pct}%)` },
    h('div', { class: `bar ${level}`, role: 'img', 'aria-label': label || `${pct}%` }, i),
    h('small', { class: 'muted' }, label || `${used} / ${total}`));
}

/**
 * A table: columns are {title, cell(row) -> node|string, num?, narrow?}; empty shows `empty`.
 */
export function table(columns, rows, { empty = 'Nothing here.', caption } = {}) {
  if (!rows.length) return h('p', { class: 'muted' }, empty);
  return h('div', { class: 'table-wrap' }, h('table', {},
    caption ? h('caption', { class: 'muted' }, caption) : null,
    h('thead', {}, h('tr', {}, columns.map((c) => h('th', { scope: 'col', class: [c.num ? 'num' : '', c.narrow ? 'hide-narrow' : ''].join(' ').trim() || undefined }, c.title)))),
    h('tbody', {}, rows.map((row) => h('tr', {}, columns.map((c) => {
      const value = c.cell(row);
      return h('td', { class: [c.num ? 'num' : '', c.narrow ? 'hide-narrow' : ''].join(' ').trim() || undefined }, value);
    }))))));
}

export function stat(value, label) {
  return h('div', { class: 'stat' }, h('b', {}, String(value ?? '—')), h('span', {}, label));
}

/** "3 min ago" for recent times, a local date and time otherwise. */
export function when(value) {
  const date = toDate(value);
  if (!date) return '—';
  const seconds = (Date.now() - date.getTime()) / 1000;
  const text = seconds < 0 ? date.toLocaleString()
    : seconds < 60 ? `${Math.round(seconds)} s ago`
      : seconds < 3600 ? `${Math.round(seconds / 60)} min ago`
        : seconds < 86400 ? `${Math.round(seconds / 3600)} h ago` : date.toLocaleString();
  return h('time', { datetime: date.toISOString(), title: date.toLocaleString() }, text);
}

/** AWS JSON sends epoch seconds; REST routes send RFC 3339. */
export function toDate(value) {
  if (value === undefined || value === null || value === '') return null;
  if (typeof value === 'number') return new Date(value > 1e12 ? value : value * 1000);
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? null : d;
}

/** The last part of an ARN (`service/c/web` -> `web`; `task-definition/app:3` -> `app:3`). */
export function shortArn(arn) {
  if (!arn) return '';
  const resource = arn.split(':').slice(5).join(':');
  const parts = resource.split('/');
  return parts[parts.length - 1] || arn;
}

export function link(href, text) { return h('a', { href }, text); }

export function enc(s) { return encodeURIComponent(s); }

let toastTimer;
export function toast(message, bad = false) {
  const box = document.getElementById('toast');
  const item = h('div', { class: bad ? 'bad' : '' }, message);
  box.append(item);
  clearTimeout(toastTimer);
  setTimeout(() => item.remove(), bad ? 9000 : 5000);
}

export function errorText(e) {
  if (!e) return '';
  if (e.denied) return `Not allowed: ${e.message}`;
  return e.code ? `${e.code}: ${e.message}` : e.message;
}

/** A panel body that reports a failed load in place instead of leaving the page blank. */
export function failure(e) {
  return h('p', { class: e && e.denied ? 'muted' : 'error', role: 'alert' }, errorText(e));
}

/**
 * A confirmation that says what will happen. With `typeToConfirm`, the button stays disabled until the
 * name is typed exactly. Resolves to the value of `input` (or true), or null when cancelled.
 */
export function confirmDialog({ title, message, confirmLabel = 'Confirm', danger = false, typeToConfirm, input }) {
  return new Promise((resolve) => {
    const field = input ? h('input', { type: input.type || 'text', value: input.value ?? '', min: input.min, max: input.max,
      'aria-label': input.label, id: 'dialog-input', required: true }) : null;
    const typed = typeToConfirm ? h('input', { type: 'text', id: 'dialog-confirm-name', autocomplete: 'off',
      'aria-label': `Type ${typeToConfirm} to confirm` }) : null;
    const ok = h('button', { type: 'submit', class: `primary ${danger ? 'danger' : ''}`, id: 'dialog-confirm' }, confirmLabel);
    const cancel = h('button', { type: 'button', id: 'dialog-cancel' }, 'Cancel');
    const body = typeof message === 'function' ? message(field) : message;
    const form = h('form', { method: 'dialog' },
      h('h2', {}, title),
      h('div', { id: 'dialog-message' }, body),
      field ? [h('label', { for: 'dialog-input' }, input.label), field] : null,
      typed ? [h('label', { for: 'dialog-confirm-name' }, 'Type ', h('b', {}, typeToConfirm), ' to confirm'), typed] : null,
      h('div', { class: 'actions' }, cancel, ok));
    const dialog = h('dialog', { 'aria-labelledby': 'dialog-title' }, form);
    if (typed) {
      ok.disabled = true;
      typed.addEventListener('input', () => { ok.disabled = typed.value !== typeToConfirm; });
    }
    let result = null;
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      if (typed && typed.value !== typeToConfirm) return;
      result = field ? field.value : true;
      dialog.close();
    });
    cancel.addEventListener('click', () => dialog.close());
    dialog.addEventListener('close', () => { dialog.remove(); resolve(result); });
    document.body.append(dialog);
    dialog.showModal();
    (field || typed || ok).focus();
  });
}

/** Runs an action from a button: disables it meanwhile, reports the outcome. */
export async function act(button, fn, success) {
  if (button) button.disabled = true;
  try {
    const out = await fn();
    if (success) toast(success);
    return out;
  } catch (e) {
    toast(errorText(e), true);
    return undefined;
  } finally {
    if (button) button.disabled = false;
  }
}

/**
 * Redraws `el` only when `data` differs from what it shows: live refresh then never takes keyboard focus or
 * the scroll position away from someone reading the page.
 */
export function changed(el, data, build) {
  const signature = JSON.stringify(data);
  if (el.dataset.signature === signature) return el;
  el.dataset.signature = signature;
  return fill(el, build());
}
