// The console's only way to the server: the same actions as every client, under /console/api, authenticated by
// the session cookie, with the CSRF token on every write. Errors come back as {__type, message}.

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message || code || `HTTP ${status}`);
    this.status = status;
    this.code = code || '';
  }
  get denied() { return this.status === 403 || /AccessDenied/.test(this.code); }
}

let session = null;
const listeners = new Set();

/** Who the page is signed in as (null when signed out). */
export function currentSession() { return session; }
/** Called with null when the server says the session is gone (expired, signed out elsewhere, key deactivated). */
export function onSessionEnd(fn) { listeners.add(fn); }

function ended() {
  session = null;
  for (const fn of listeners) fn(null);
}

async function call(method, url, { body, headers = {} } = {}) {
  const init = { method, headers: { ...headers }, credentials: 'same-origin', cache: 'no-store' };
  if (method !== 'GET' && method !== 'HEAD') {
    if (session) init.headers['X-Stowage-CSRF'] = session.csrfToken;
    if (body !== undefined) {
      init.body = typeof body === 'string' ? body : JSON.stringify(body);
      if (!init.headers['Content-Type']) init.headers['Content-Type'] = 'application/json';
    }
  }
  let response;
  try {
    response = await fetch(url, init);
  } catch (e) {
    throw new ApiError(0, 'NetworkError', 'The server could not be reached.');
  }
  const text = response.status === 204 ? '' : await response.text();
  let data = null;
  if (text) {
    try { data = JSON.parse(text); } catch { data = { message: text }; }
  }
  if (!response.ok) {
    const code = (data && (data.__type || data.code)) || '';
    const error = new ApiError(response.status, code.split('#').pop(), data && (data.message || data.Message));
    if (response.status === 401 && session) ended();
    throw error;
  }
  return data;
}

/** Reads the session the cookie names; null when there is none. */
export async function loadSession() {
  try {
    session = await call('GET', '/console/api/session');
  } catch (e) {
    if (e.status === 401) { session = null; return null; }
    throw e;
  }
  return session;
}

export async function signIn(accessKeyId, secretAccessKey, sessionToken) {
  const body = { accessKeyId, secretAccessKey };
  if (sessionToken) body.sessionToken = sessionToken;
  session = await call('POST', '/console/api/session', { body });
  return session;
}

export async function signOut() {
  try { await call('DELETE', '/console/api/session'); } finally { ended(); }
}

/** An AWS JSON action, e.g. aws('AmazonEC2ContainerServiceV20141113.DescribeServices', {...}). */
export function aws(target, body = {}) {
  return call('POST', '/console/api/aws', {
    body, headers: { 'X-Amz-Target': target, 'Content-Type': 'application/x-amz-json-1.1' },
  });
}

export const ecs = (action, body) => aws(`AmazonEC2ContainerServiceV20141113.${action}`, body);
export const logs = (action, body) => aws(`Logs_20140328.${action}`, body);

/** A Stowage REST route, e.g. rest('GET', '/v1/alarms'). */
export function rest(method, path, body) {
  return call(method, `/console/api${path}`, { body });
}

/** The URL of a REST route for EventSource (GET, cookie-authenticated). */
export function restURL(path) { return `/console/api${path}`; }

/** Runs `fn` over items with at most `limit` in flight; results in order. */
export async function pooled(items, limit, fn) {
  const out = new Array(items.length);
  let next = 0;
  async function worker() {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i], i);
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/** Every page of a paginated ECS list action. */
export async function listAll(action, body, key) {
  const all = [];
  let nextToken;
  do {
    const page = await ecs(action, { ...body, ...(nextToken ? { nextToken } : {}), maxResults: 100 });
    all.push(...(page[key] || []));
    nextToken = page.nextToken;
  } while (nextToken);
  return all;
}

/**
 * Describes ARNs in batches of `size`; a batch the caller may not see in full is retried one by one and the
 * items it may not see are left out (a narrow policy sees only what it is allowed to).
 */
export async function describeVisible(items, size, describe) {
  const batches = [];
  for (let i = 0; i < items.length; i += size) batches.push(items.slice(i, i + size));
  const results = await pooled(batches, 6, async (batch) => {
    try {
      return await describe(batch);
    } catch (e) {
      if (!e.denied || batch.length === 1) { if (e.denied) return []; throw e; }
      const singles = await pooled(batch, 6, async (one) => {
        try { return await describe([one]); } catch (err) { if (err.denied) return []; throw err; }
      });
      return singles.flat();
    }
  });
  return results.flat();
}
