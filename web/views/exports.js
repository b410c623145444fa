// The export view: "Download everything" builds one ZIP of every recording
// (with transcripts) on the server, shows its progress, then the link.
// The archive is built by a worker, so the page follows the export by
// asking every second while the view is open, and picks up an export
// still running (or ready) when it opens again.

import { api } from '../api.js';
import { localMinute, percent, problemMessage, size } from '../format.js';

const $ = (id) => document.getElementById(id);
let ctx;
let timer = 0;
let shown = false;

export function mount(context) {
  ctx = context;
  $('export-start').onclick = () => start().catch(ctx.showError);
}

export async function show() {
  shown = true;
  const { exports } = await api('GET', '/v1/exports');
  const latest = exports[0];
  if (!latest) { draw(null); return; }
  await follow(latest.id);
}

export function hide() {
  shown = false;
  clearTimeout(timer);
}

async function start() {
  let ex;
  try {
    ex = await api('POST', '/v1/exports', {});
  } catch (err) {
    // One export runs at a time: follow the one already running.
    if (err.code !== 'conflict') throw new Error(problemMessage('', err.code, err.status));
    const { exports } = await api('GET', '/v1/exports');
    ex = exports.find((e) => e.status === 'running');
    if (!ex) throw new Error(problemMessage('', err.code, err.status));
  }
  ctx.say('Building one archive of all your recordings. You can leave this page; it goes on.');
  await follow(ex.id);
}

async function follow(id) {
  clearTimeout(timer);
  const ex = await api('GET', `/v1/exports/${id}`);
  draw(ex);
  if (ex.status === 'running' && shown) {
    timer = setTimeout(() => follow(id).catch(ctx.showError), 1000);
  } else if (ex.status === 'ready') {
    ctx.say(`Your archive is ready: ${ex.download.file_name} (${size(ex.size_bytes)}).`);
  }
}

function draw(ex) {
  const running = ex?.status === 'running';
  $('export-start').disabled = running;
  $('export-progress-box').hidden = !running;
  $('export-ready').hidden = ex?.status !== 'ready';
  $('export-failed').hidden = ex?.status !== 'failed';
  if (!ex) return;
  if (running) {
    const p = percent(ex.recordings_done, ex.recordings_total);
    $('export-progress').value = p;
    $('export-pct').textContent = ex.recordings_total
      ? `${p}% · ${ex.recordings_done} of ${ex.recordings_total} recordings`
      : 'Listing your recordings…';
  } else if (ex.status === 'ready') {
    const link = $('export-link');
    link.href = ex.download.url;
    link.textContent = `Download ${ex.download.file_name} (${size(ex.size_bytes)})`;
    $('export-until').textContent = `The archive is kept until ${localMinute(new Date(ex.expires_at))}.`;
  } else if (ex.status === 'failed') {
    $('export-failed').textContent = 'The last archive could not be built. Press Download everything to try again.';
  }
}
