// The web companion: sign in, record or pick audio, upload it straight to
// storage through presigned URLs, then list, play, rename and delete. It
// speaks only the public API (same origin) and the URLs the API signs
// (storage, another origin), exactly as a phone app does.
//
// This file signs in and switches views; each view is a module of its own
// in views/ with mount(ctx), show() and hide(). A new screen is a module,
// a link in the nav of index.html and a section with id view-<name>.

import {
  api, currentSession, displayName, forgetSession, keepSession, onSignedOut,
} from './api.js';
import { Queue } from './uploads.js';
import { onButtonError } from './ui.js';
import * as recordings from './views/recordings.js';
import * as trash from './views/trash.js';
import * as account from './views/account.js';
import * as shares from './views/shares.js';
import * as devices from './views/devices.js';
import * as exports from './views/exports.js';
import { deviceName } from './format.js';

const VIEWS = { recordings, trash, shares, devices, exports, account };
const $ = (id) => document.getElementById(id);

function showError(err) {
  const box = $('error');
  box.textContent = err ? (err.message || String(err)) : '';
  box.hidden = !err;
  if (err) console.warn(err);
}

// say puts text on the status line, with an optional action beside it
// (Undo after a delete): {label, label_for, run}.
function say(text, action) {
  $('status').textContent = text;
  const b = $('status-action');
  b.hidden = !action;
  if (!action) return;
  b.textContent = action.label;
  b.setAttribute('aria-label', action.label_for || action.label);
  b.onclick = () => {
    b.hidden = true;
    showError(null);
    action.run().catch(showError);
  };
}

const ctx = {
  say,
  showError,
  config: {},
  queue: new Queue({
    change: (jobs) => { recordings.drawUploads(jobs); recordings.uploadsChanged(jobs); },
    done: (job, rec) => recordings.uploaded(job, rec),
    failed: (job, err) => recordings.uploadFailed(job, err),
  }),
  async refreshQuota() {
    try {
      const me = await api('GET', '/v1/me');
      account.drawQuota(me);
      return me;
    } catch (err) {
      if (err.code !== 'offline') showError(err);
      return null;
    }
  },
  signOut() {
    api('POST', '/v1/auth/logout').catch(() => {}).finally(forgetSession);
  },
  async accountDeleted(message) {
    await ctx.queue.forget(currentSession()?.user?.id);
    forgetSession();
    say(message);
  },
};
onButtonError(showError);
for (const v of Object.values(VIEWS)) v.mount(ctx);

// --- views

let current = null;

function viewName() {
  const name = location.hash.slice(1);
  return Object.hasOwn(VIEWS, name) ? name : 'recordings';
}

function showView() {
  const name = viewName();
  if (current && current !== name) VIEWS[current].hide();
  current = name;
  for (const key of Object.keys(VIEWS)) $(`view-${key}`).hidden = key !== name;
  for (const a of document.querySelectorAll('#tabs a')) {
    if (a.dataset.view === name) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  VIEWS[name].show().catch(offlineOrError);
}

// offlineOrError: a list that cannot be fetched offline is no error; the
// notice says why it is not up to date.
let retryView = 0;
function offlineOrError(err) {
  // A session that ended (signed out from another device, or unused past
  // its refresh token's life) is no error: the sign-in form is back.
  if (err?.status === 401) return;
  if (err?.code !== 'offline') { showError(err); return; }
  noteOnline();
  // The online event does not always come (navigator.onLine may have
  // said online all along): look again in a while.
  clearTimeout(retryView);
  retryView = setTimeout(() => { if (currentSession()) showView(); }, 3000);
}

function render() {
  const signedIn = !!currentSession();
  $('sign-in').hidden = signedIn;
  $('tabs').hidden = !signedIn;
  $('who').hidden = !signedIn;
  $('who-name').textContent = signedIn ? displayName(currentSession().user) : '';
  if (signedIn) {
    showView();
    ctx.queue.kick();
  } else {
    for (const key of Object.keys(VIEWS)) $(`view-${key}`).hidden = true;
    if (current) VIEWS[current].hide();
    current = null;
  }
}

onSignedOut((why) => {
  if (why === 'ended') say('You are signed out on this device. Please sign in again.');
  render();
});
window.addEventListener('hashchange', () => { if (currentSession()) showView(); });

function noteOnline() {
  $('offline').hidden = navigator.onLine;
}
window.addEventListener('offline', noteOnline);
window.addEventListener('online', () => {
  noteOnline();
  if (currentSession()) showView();
});

// --- signing in

async function login(provider, idToken, nonce) {
  // The sessions list names this device by it, so a person can tell
  // which sign-in to end.
  keepSession(await api('POST', '/v1/auth/login', {
    provider, id_token: idToken, nonce, device_name: deviceName(navigator.userAgent),
  }));
  say(`Signed in as ${displayName(currentSession().user)}.`);
  render();
}

// A server nonce goes into every ID token the app asks for, so a token
// that leaks from the page cannot sign in a second time.
async function newNonce() {
  return (await api('POST', '/v1/auth/nonce')).nonce;
}

async function devSignIn(provider, sub) {
  const nonce = await newNonce();
  const url = new URL(provider.token_url);
  url.searchParams.set('sub', sub);
  url.searchParams.set('name', sub);
  url.searchParams.set('nonce', nonce);
  const res = await fetch(url);
  if (!res.ok) throw new Error(`the development issuer answered ${res.status}`);
  await login(provider.name, (await res.json()).id_token, nonce);
}

function loadScript(src) {
  return new Promise((resolve, reject) => {
    const s = document.createElement('script');
    s.src = src;
    s.onload = resolve;
    s.onerror = () => reject(new Error(`could not load ${src}`));
    document.head.append(s);
  });
}

async function googleSignIn(clientId) {
  await loadScript('https://accounts.google.com/gsi/client');
  const nonce = await newNonce();
  google.accounts.id.initialize({
    client_id: clientId,
    nonce,
    callback: (r) => login('google', r.credential, nonce).catch(showError),
  });
  const box = $('google-button');
  box.hidden = false;
  google.accounts.id.renderButton(box, { type: 'standard', text: 'signin_with' });
}

async function loadConfig() {
  ctx.config = await fetch('config.json').then((r) => r.json());
}

async function setUpSignIn() {
  const { providers } = await api('GET', '/v1/auth/providers');
  const dev = providers.find((p) => p.development && p.token_url);
  let offered = false;
  if (dev) {
    offered = true;
    $('dev-form').hidden = false;
    $('dev-form').onsubmit = (e) => {
      e.preventDefault();
      showError(null);
      devSignIn(dev, $('dev-sub').value.trim()).catch(showError);
    };
  }
  if (ctx.config.google_client_id && providers.some((p) => p.name === 'google')) {
    offered = true;
    googleSignIn(ctx.config.google_client_id).catch(showError);
  }
  $('no-provider').hidden = offered;
}

// The service worker keeps the page's own files so it opens offline; it
// never stores API answers or storage URLs (sw.js).
if ('serviceWorker' in navigator) {
  navigator.serviceWorker.register('sw.js').catch((err) => console.warn('service worker:', err));
}

noteOnline();
loadConfig().catch(() => {}).finally(() => {
  render();
  setUpSignIn().catch(offlineOrError);
});
