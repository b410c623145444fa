// The API client the views share: the session, problem+json errors, and
// the difference between a refusal and a failed connection, which the
// page must treat differently (keep and retry, or tell the person).

const SESSION_KEY = 'recorder.session';

let session = JSON.parse(localStorage.getItem(SESSION_KEY) || 'null');
// An expired access token is no reason to sign in again while the refresh
// token still works: the first request refreshes it.
if (session && Date.parse(session.refresh_expires_at || session.expires_at) <= Date.now()) session = null;
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

// forgetSession drops the session; why is 'ended' when the server ended
// it (another device signed this one out, or it ran out), so the page can
// say so.
export function forgetSession(why = 'signed-out') {
  session = null;
  localStorage.removeItem(SESSION_KEY);
  for (const fn of signedOut) fn(why);
}

export function onSignedOut(fn) { signedOut.add(fn); }

// One refresh at a time: requests in flight when the access token runs
// out share it, since presenting a refresh token twice ends the session.
let refreshing = null;

// refreshSession trades the refresh token for a new pair and answers
// whether the session goes on. A refusal (401) ends it; no answer keeps
// it for a later try.
export function refreshSession() {
  if (!session?.refresh_token) return Promise.resolve(false);
  if (refreshing) return refreshing;
  const sent = session.refresh_token;
  refreshing = (async () => {
    let res;
    try {
      res = await fetch('/v1/auth/refresh', {
        method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ refresh_token: sent }),
      });
    } catch (err) {
      throw new ProblemError(`no connection (${err.message})`, 'offline', 0);
    }
    if (!res.ok) {
      if (res.status === 401 && session?.refresh_token === sent) forgetSession('ended');
      return false;
    }
    const pair = await res.json();
    // A sign-in meanwhile (another user, a new session) keeps its own pair.
    if (session?.refresh_token !== sent) return true;
    keepSession({ ...session, ...pair });
    return true;
  })().finally(() => { refreshing = null; });
  return refreshing;
}

// Refreshed a minute early, so a request does not leave with a token that
// runs out on the way.
const EARLY_MS = 60_000;

// api calls the API and turns a problem+json answer into a ProblemError
// carrying the problem's code; a request that never got an answer is a
// ProblemError with code "offline". An expired access token is refreshed
// silently and the request sent once more.
export async function api(method, path, body, extraHeaders = {}) {
  if (session?.refresh_token && Date.parse(session.expires_at) - EARLY_MS <= Date.now()) await refreshSession();
  let res = await send(method, path, body, extraHeaders);
  if (res.status === 401 && session?.refresh_token) {
    const used = session.access_token;
    // Another request may have refreshed meanwhile: then only retry.
    if (used === res.sentToken ? await refreshSession() : true) res = await send(method, path, body, extraHeaders);
  }
  const data = res.status === 204 ? null : await res.json().catch(() => null);
  if (!res.ok) {
    if (res.status === 401 && session) forgetSession('ended');
    throw new ProblemError(data?.detail || data?.title || `${res.status} ${res.statusText}`, data?.code, res.status);
  }
  return data;
}

async function send(method, path, body, extraHeaders) {
  const headers = { ...extraHeaders };
  const token = session?.access_token;
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  try {
    const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    res.sentToken = token;
    return res;
  } catch (err) {
    throw new ProblemError(`no connection (${err.message})`, 'offline', 0);
  }
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
