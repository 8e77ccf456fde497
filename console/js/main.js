// The console's shell: sign-in gate, hash routes to one module per view, live refresh while a view is shown.
import { currentSession, loadSession, onSessionEnd, signOut } from './api.js';
import { fill, failure, toast, errorText } from './ui.js';

const routes = [
  [/^#\/services$/, 'services', () => import('../views/services.js')],
  [/^#\/clusters$/, 'clusters', () => import('../views/clusters.js')],
  [/^#\/clusters\/([^/]+)$/, 'clusters', () => import('../views/cluster.js')],
  [/^#\/clusters\/([^/]+)\/services\/([^/]+)$/, 'services', () => import('../views/service.js')],
  [/^#\/clusters\/([^/]+)\/tasks\/([^/]+)$/, 'services', () => import('../views/task.js')],
  [/^#\/instances$/, 'instances', () => import('../views/instances.js')],
  [/^#\/alarms$/, 'alarms', () => import('../views/alarms.js')],
  [/^#\/audit$/, 'audit', () => import('../views/audit.js')],
];

const main = document.getElementById('main');
let current = null; // {timers, cleanups, alive}

/** What a view gets: its parameters, a timer that stops when the view goes, and a cleanup hook. */
function newContext(params) {
  const ctx = {
    params,
    alive: true,
    timers: [],
    cleanups: [],
    every(ms, fn) {
      const id = setInterval(() => { if (ctx.alive && !document.hidden) fn(); }, ms);
      ctx.timers.push(id);
    },
    onLeave(fn) { ctx.cleanups.push(fn); },
    navigate(hash) { location.hash = hash; },
  };
  return ctx;
}

function leave() {
  if (!current) return;
  current.alive = false;
  current.timers.forEach(clearInterval);
  current.cleanups.forEach((fn) => { try { fn(); } catch { /* a view's cleanup never blocks the next */ } });
  current = null;
}

async function render() {
  leave();
  if (!currentSession()) { showSignIn(); return; }
  showChrome(true);
  const hash = location.hash || '#/services';
  const route = routes.find(([re]) => re.test(hash));
  if (!route) { location.replace('#/services'); return; }
  const [re, section, load] = route;
  const params = (hash.match(re) || []).slice(1).map(decodeURIComponent);
  for (const a of document.querySelectorAll('#nav a')) {
    if (a.dataset.section === section) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current');
  }
  const ctx = newContext(params);
  current = ctx;
  try {
    const view = await load();
    if (!ctx.alive) return;
    await view.render(main, ctx);
  } catch (e) {
    if (ctx.alive) fill(main, failure(e));
  }
}

function showChrome(on) {
  document.getElementById('nav').hidden = !on;
  const who = document.getElementById('who');
  who.hidden = !on;
  const s = currentSession();
  if (on && s) {
    const name = document.getElementById('who-name');
    name.textContent = s.principalArn;
    name.title = `Account ${s.accountId}; session ends ${new Date(s.expiresAt * 1000).toLocaleString()}`;
  }
}

async function showSignIn() {
  showChrome(false);
  const view = await import('../views/signin.js');
  view.render(main, { onSignedIn: () => render() });
}

document.getElementById('sign-out').addEventListener('click', async () => {
  try { await signOut(); } catch (e) { toast(errorText(e), true); }
  location.hash = '#/services';
  render();
});

onSessionEnd(() => { toast('Your console session ended: sign in again.', true); render(); });
window.addEventListener('hashchange', () => { render(); main.focus({ preventScroll: true }); });

(async () => {
  try {
    await loadSession();
  } catch (e) {
    fill(main, failure(e));
    return;
  }
  render();
})();

