// The account view: who is signed in, how much of the quota is used,
// sign-out and account deletion.

import { api } from '../api.js';
import { ask } from '../dialog.js';
import { minutesLine, size } from '../format.js';

const $ = (id) => document.getElementById(id);
let ctx;

export function mount(context) {
  ctx = context;
  $('sign-out').onclick = () => ctx.signOut();
  $('delete-account').onclick = () => deleteAccount().catch(ctx.showError);
}

export async function show() {
  const me = await ctx.refreshQuota();
  if (!me) return;
  $('me-name').textContent = me.name || '—';
  $('me-email').textContent = me.email || '—';
  $('me-providers').textContent = me.providers.join(', ');
}

export function hide() {}

// drawQuota shows /v1/me's usage here and as one line above the list.
export function drawQuota(me) {
  const q = me.quota;
  const used = q.bytes_used + q.bytes_reserved;
  const meter = $('storage-meter');
  meter.value = Math.min(1, used / q.bytes_limit);
  const held = q.bytes_reserved ? ` (${size(q.bytes_reserved)} of it held for uploads in progress)` : '';
  $('storage-text').textContent = `${size(used)} of ${size(q.bytes_limit)} used${held}.`;
  $('count-text').textContent = `${me.recording_count} of ${q.recordings_limit} recordings.`;
  const minutes = minutesLine(q);
  $('minutes-text').textContent = minutes;
  $('minutes-text').hidden = !minutes;
  $('quota-line').textContent = `${size(used)} of ${size(q.bytes_limit)} used · ${me.recording_count} ${me.recording_count === 1 ? 'recording' : 'recordings'}`;
}

async function deleteAccount() {
  const ok = await ask({
    title: 'Delete your account?',
    text: 'Every recording in it, the trash included, is deleted for good. This cannot be undone.',
    action: 'Delete my account',
    danger: true,
  });
  if (!ok) return;
  const r = await api('DELETE', '/v1/me');
  await ctx.accountDeleted(r?.provider_notices?.map((n) => n.detail).join(' ') || 'Your account is deleted.');
}
