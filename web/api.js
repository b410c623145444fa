// The API client the views share: the session, problem+json errors, and
// the difference between a refusal and a failed connection, which the
// page must treat differently (keep and retry, or tell the person).

const SESSION_KEY = 'recorder.session';

let session = JSON.parse(localStorage.getItem(SESSION_KEY) || 'null');
if (session && Date.parse(session.expires_at) <= Date.now()) session = null;
const signedOut = new Set();

export class ProblemError extends Error {
  constructor(detail, code, status) { super(detail); this.code = code; this.status = status; }

  // transient failures may pass on their own: no network, a server that is
  // overloaded or down for a moment.
  get transient() {
    return this.code === 'offline' || this.status === 429 || this.status >= 500;
  }
}

export function currentSession() { return session; }

export function keepSession(s) {
  session = s;
  localStorage.setItem(SESSION_KEY, JSON.stringify(s));
}

export function forgetSession() {
  session = null;
  localStorage.removeItem(SESSION_KEY);
  for (const fn of signedOut) fn();
}

export function onSignedOut(fn) { signedOut.add(fn); }

// api calls the API and turns a problem+json answer into a ProblemError
// carrying the problem's code; a request that never got an answer is a
// ProblemError with code "offline".
export async function api(method, path, body, extraHeaders = {}) {
  const headers = { ...extraHeaders };
  if (session) headers.Authorization = `Bearer ${session.access_token}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let res;
  try {
    res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (err) {
    throw new ProblemError(`no connection (${err.message})`, 'offline', 0);
  }
  const data = res.status === 204 ? null : await res.json().catch(() => null);
  if (!res.ok) {
    if (res.status === 401 && session) forgetSession();
    throw new ProblemError(data?.detail || data?.title || `${res.status} ${res.statusText}`, data?.code, res.status);
  }
  return data;
}

// listAll reads every page of a listing (up to 2000 recordings, 20 pages).
export async function listAll(status) {
  const items = [];
  let cursor = '';
  for (let page = 0; page < 20; page++) {
    const q = new URLSearchParams({ status, limit: '100' });
    if (cursor) q.set('cursor', cursor);
    const r = await api('GET', `/v1/recordings?${q}`);
    items.push(...r.items);
    cursor = r.next_cursor;
    if (!cursor) break;
  }
  return items;
}

export function displayName(user) {
  return user?.name || user?.email || user?.id || '';
}
