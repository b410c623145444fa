// The page's session handling (api.js) under node's test runner, with a
// stand-in for the API: a fetch that answers like the server's token
// routes, counting refreshes.
import assert from 'node:assert/strict';
import test from 'node:test';

const store = new Map();
globalThis.localStorage = {
  getItem: (k) => (store.has(k) ? store.get(k) : null),
  setItem: (k, v) => store.set(k, String(v)),
  removeItem: (k) => store.delete(k),
};

// server holds the one access token it accepts and the refresh token that
// trades for the next pair.
const server = { access: 'a1', refresh: 'r1', refreshes: 0, n: 1, refuseRefresh: false, seen: [] };
globalThis.fetch = async (path, init = {}) => {
  const json = (status, body) => new Response(body === undefined ? null : JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });
  if (path === '/v1/auth/refresh') {
    server.refreshes++;
    await new Promise((r) => setTimeout(r, 10)); // answers take time: requests overlap
    const { refresh_token: sent } = JSON.parse(init.body);
    if (server.refuseRefresh || sent !== server.refresh) return json(401, { code: 'unauthorized' });
    server.n++;
    server.access = `a${server.n}`;
    server.refresh = `r${server.n}`;
    return json(200, {
      access_token: server.access, token_type: 'Bearer', expires_at: new Date(Date.now() + 3600e3).toISOString(),
      refresh_token: server.refresh, refresh_expires_at: new Date(Date.now() + 90 * 86400e3).toISOString(), session_id: 's',
    });
  }
  server.seen.push(init.headers?.Authorization);
  if (init.headers?.Authorization !== `Bearer ${server.access}`) return json(401, { code: 'unauthorized' });
  return json(200, { ok: true });
};

const { api, currentSession, keepSession } = await import('../api.js');

function signIn(expiresInMs = 3600e3) {
  keepSession({
    access_token: server.access, refresh_token: server.refresh, user: { id: 'u' },
    expires_at: new Date(Date.now() + expiresInMs).toISOString(),
    refresh_expires_at: new Date(Date.now() + 90 * 86400e3).toISOString(),
  });
}

// retire ends the page's access token on the server's side, as its hour
// running out does.
function retire() {
  server.access = 'retired';
}

test('a refused access token is refreshed once and the request sent again', async () => {
  signIn();
  retire();
  server.refresh = currentSession().refresh_token;
  const before = server.refreshes;
  assert.deepEqual(await api('GET', '/v1/me'), { ok: true });
  assert.equal(server.refreshes - before, 1);
  assert.equal(currentSession().access_token, server.access);
  assert.equal(JSON.parse(localStorage.getItem('recorder.session')).refresh_token, server.refresh, 'the new pair is kept');
  assert.equal(currentSession().user.id, 'u', 'the user stays');
});

test('requests refused at once share one refresh', async () => {
  signIn();
  retire();
  const before = server.refreshes;
  const answers = await Promise.all([api('GET', '/v1/me'), api('GET', '/v1/recordings'), api('GET', '/v1/shares')]);
  assert.deepEqual(answers, [{ ok: true }, { ok: true }, { ok: true }]);
  assert.equal(server.refreshes - before, 1, 'a refresh token presented twice would end the session');
});

test('an access token about to run out is refreshed before the request', async () => {
  signIn(30_000);
  retire();
  const seen = server.seen.length;
  assert.deepEqual(await api('GET', '/v1/me'), { ok: true });
  assert.deepEqual(server.seen.slice(seen), [`Bearer ${server.access}`], 'no request left with the old token');
});

test('a refused refresh ends the session', async () => {
  signIn();
  retire();
  server.refuseRefresh = true;
  try {
    await assert.rejects(api('GET', '/v1/me'), (err) => err.status === 401);
    assert.equal(currentSession(), null);
    assert.equal(localStorage.getItem('recorder.session'), null);
  } finally {
    server.refuseRefresh = false;
  }
});
