// The shares view: the links that still play, how often each was opened,
// until when, and Revoke. A link itself is shown only when it is made
// (recordings.js), since the server keeps no copy of it.

import { api } from '../api.js';
import { ask } from '../dialog.js';
import { localMinute, problemMessage, shareExpiry } from '../format.js';
import { button, el } from '../ui.js';

const $ = (id) => document.getElementById(id);
let ctx;

export function mount(context) { ctx = context; }

export async function show() {
  const { items: shares } = await api('GET', '/v1/shares');
  $('shares').replaceChildren(...shares.map(row));
  $('shares-empty').hidden = shares.length > 0;
}

export function hide() {}

function row(share) {
  const views = `${share.views} ${share.views === 1 ? 'view' : 'views'}`;
  const facts = [`shared ${localMinute(new Date(share.created_at))}`, shareExpiry(share), views].filter(Boolean).join(' · ');
  return el('li', { class: 'card', 'data-id': share.id, 'data-recording-id': share.recording_id },
    el('p', { class: 'name' }, share.file_name),
    el('p', { class: 'facts' }, facts),
    el('div', { class: 'actions' },
      button('Revoke', `Revoke the link to ${share.file_name}`, () => revoke(share))));
}

async function revoke(share) {
  const ok = await ask({
    title: `Stop sharing “${share.file_name}”?`,
    text: 'The link stops working at once for everyone who has it. The recording stays.',
    action: 'Revoke link',
    danger: true,
  });
  if (!ok) return;
  // A link already gone (expired, revoked elsewhere) is what was asked.
  await api('DELETE', `/v1/shares/${share.id}`).catch((err) => {
    if (err.code !== 'not_found') throw new Error(problemMessage(`The link to ${share.file_name}`, err.code, err.status));
  });
  ctx.say(`The link to ${share.file_name} no longer works.`);
  await show();
}
