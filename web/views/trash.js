// The trash view: what was deleted, until when it can come back, Restore
// and Delete for good.

import { api, listAll } from '../api.js';
import { ask } from '../dialog.js';
import { deleteMessage, duration, localMinute, size } from '../format.js';
import { button, el } from '../ui.js';

const $ = (id) => document.getElementById(id);
let ctx;

export function mount(context) { ctx = context; }

export async function show() {
  const items = await listAll('deleted');
  $('trash').replaceChildren(...items.map(card));
  $('trash-empty').hidden = items.length > 0;
}

export function hide() {}

function card(rec) {
  const facts = [duration(rec.duration_ms), size(rec.size_bytes)].filter(Boolean).join(' · ');
  const until = rec.purge_at ? `Deleted for good on ${localMinute(new Date(rec.purge_at))}.` : '';
  return el('li', { class: 'card status-deleted', 'data-id': rec.id, 'data-status': rec.status },
    el('p', { class: 'name' }, rec.file_name),
    el('p', { class: 'facts' }, facts),
    el('p', { class: 'state' }, until),
    el('div', { class: 'actions' },
      button('Restore', `Restore ${rec.file_name}`, () => restore(rec)),
      button('Delete for good', `Delete for good ${rec.file_name}`, () => purge(rec))));
}

async function restore(rec) {
  await api('POST', `/v1/recordings/${rec.id}/restore`);
  ctx.say(`${rec.file_name} is back in your recordings.`);
  await show();
}

async function purge(rec) {
  const ok = await ask({
    title: `Delete “${rec.file_name}” for good?`,
    text: 'It cannot be restored afterwards, and its storage is freed at once.',
    action: 'Delete for good',
    danger: true,
  });
  if (!ok) return;
  const res = await api('DELETE', `/v1/recordings/${rec.id}?purge=true`);
  ctx.say(deleteMessage(rec.file_name, res, true));
  await show();
  ctx.refreshQuota();
}
