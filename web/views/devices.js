// The signed-in devices view: every session of the account, this one
// marked, with Sign out per device and for every other device at once.

import { api, forgetSession } from '../api.js';
import { ask } from '../dialog.js';
import { localMinute, problemMessage } from '../format.js';
import { button, el } from '../ui.js';

const $ = (id) => document.getElementById(id);
let ctx;

export function mount(context) {
  ctx = context;
  $('sign-out-others').onclick = () => signOutOthers().catch(ctx.showError);
}

export async function show() {
  const { sessions } = await api('GET', '/v1/sessions');
  $('devices').replaceChildren(...sessions.map(row));
  $('sign-out-others').hidden = !sessions.some((s) => !s.current);
}

export function hide() {}

// A token from before device sessions has no name, provider or platform.
function label(s) {
  return s.device_name || s.platform || 'An older sign-in';
}

function row(s) {
  const name = label(s);
  const facts = [
    s.platform && s.platform !== name ? s.platform : '',
    s.provider ? `with ${s.provider}` : '',
    `signed in ${localMinute(new Date(s.created_at))}`,
    // last_used_at is kept to the hour, so it says something only once
    // it is past the sign-in's own hour.
    Date.parse(s.last_used_at) > Date.parse(s.created_at) ? `active in the hour from ${localMinute(new Date(s.last_used_at))}` : '',
  ].filter(Boolean).join(' · ');
  const li = el('li', { class: 'card', 'data-id': s.id, ...(s.current ? { 'data-current': '' } : {}) },
    el('p', { class: 'name' }, name, s.current ? el('span', { class: 'badge' }, ' (this device)') : ''),
    el('p', { class: 'facts' }, facts));
  li.append(el('div', { class: 'actions' }, s.current
    ? button('Sign out', 'Sign out this device', () => ctx.signOut())
    : button('Sign out', `Sign out ${name}`, () => signOut(s, name))));
  return li;
}

async function signOut(s, name) {
  const ok = await ask({
    title: `Sign out “${name}”?`,
    text: 'That device must sign in again to use your recordings. Uploads waiting on it wait until then.',
    action: 'Sign out device',
    danger: true,
  });
  if (!ok) return;
  // A session already ended is what was asked.
  await api('DELETE', `/v1/sessions/${encodeURIComponent(s.id)}`).catch((err) => {
    if (err.code !== 'not_found') throw new Error(problemMessage(name, err.code, err.status));
  });
  if (s.current) { forgetSession(); return; }
  ctx.say(`${name} is signed out.`);
  await show();
}

async function signOutOthers() {
  const ok = await ask({
    title: 'Sign out every other device?',
    text: 'Only this browser stays signed in; every other phone, computer and CLI must sign in again.',
    action: 'Sign out the others',
    danger: true,
  });
  if (!ok) return;
  await api('DELETE', '/v1/sessions?others=true').catch((err) => { throw new Error(problemMessage('', err.code, err.status)); });
  ctx.say('Every other device is signed out.');
  await show();
}
