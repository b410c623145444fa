// The recordings view: search, record, pick or drop files, the uploads in
// progress, and the list as cards (one per recording) with play, download,
// share, rename and delete; the player with the transcript under it.

import { api, listAll } from '../api.js';
import { ask } from '../dialog.js';
import {
  SORTS, applyChanges, clock, deleteMessage, duration, localMinute, localStamp, percent, problemMessage,
  recordedAt, rejectMessage, shareExpiry, size, sortRecordings, transcriptMessage, trashNotice,
} from '../format.js';
import { button, el } from '../ui.js';

const $ = (id) => document.getElementById(id);
const SORT_KEY = 'recorder.sort';

let ctx;
let pollTimer = 0;
let latest = [];
let shown = false;
// The change feed's cursor for what `latest` holds; null when the server
// has no feed (the page then lists again while something is pending).
let cursor = null;
// Each follow loop has a number; a newer one (or a stop) ends the older.
let feedRun = 0;
let wake = () => {};
// Recordings whose upload ended pending: the status line says when each
// turns available or rejected.
const watched = new Map();

export function mount(context) {
  ctx = context;
  const sort = $('sort');
  for (const [key, s] of Object.entries(SORTS)) sort.append(new Option(s.label, key));
  sort.value = localStorage.getItem(SORT_KEY) || 'date';
  sort.onchange = () => { localStorage.setItem(SORT_KEY, sort.value); draw(); };

  $('record').onclick = () => (recorder ? stopRecording() : startRecording().catch(recordFailed));
  $('files').onchange = (e) => { addFiles(e.target.files); e.target.value = ''; };
  const drop = $('drop');
  drop.ondragover = (e) => { e.preventDefault(); drop.classList.add('over'); };
  drop.ondragleave = () => drop.classList.remove('over');
  drop.ondrop = (e) => { e.preventDefault(); drop.classList.remove('over'); addFiles(e.dataTransfer.files); };
  $('audio').addEventListener('loadedmetadata', findDuration);
  $('audio').addEventListener('timeupdate', followTranscript);
  $('search-form').onsubmit = (e) => { e.preventDefault(); search().catch(ctx.showError); };
  $('search-clear').onclick = clearSearch;
  $('share-close').onclick = () => { $('share-box').hidden = true; };
}

export async function show() {
  shown = true;
  await refresh();
}

export function hide() {
  shown = false;
  stopFollowing();
}

// A hidden page asks nothing; shown again, it reads the feed from where
// it stopped.
document.addEventListener('visibilitychange', () => {
  if (document.hidden) stopFollowing();
  else if (shown) follow();
});

// --- recording

let recorder = null;

// Each browser records in its own format: WebM/Opus in Chromium and
// Firefox, MP4/AAC in Safari. The first one offered wins.
function recordingType() {
  for (const t of ['audio/webm;codecs=opus', 'audio/webm', 'audio/mp4', 'audio/ogg;codecs=opus']) {
    if (MediaRecorder.isTypeSupported(t)) return t;
  }
  return '';
}

function extensionFor(type) {
  if (type.startsWith('audio/mp4')) return '.m4a';
  if (type.startsWith('audio/ogg')) return '.ogg';
  return '.webm';
}

function recordFailed(err) {
  recorder = null;
  setRecordButton(false);
  ctx.showError(new Error(err?.name === 'NotAllowedError'
    ? 'The browser may not use the microphone. Allow it in the site settings, then press Record again.'
    : `Recording could not start: ${err?.message || err}.`));
}

function setRecordButton(recording) {
  const b = $('record');
  b.textContent = recording ? 'Stop' : 'Record';
  b.classList.toggle('recording', recording);
}

async function startRecording() {
  ctx.showError(null);
  const stream = await navigator.mediaDevices.getUserMedia({ audio: true });
  const type = recordingType();
  const mr = new MediaRecorder(stream, type ? { mimeType: type } : undefined);
  const chunks = [];
  const actx = new AudioContext();
  const analyser = actx.createAnalyser();
  analyser.fftSize = 1024;
  actx.createMediaStreamSource(stream).connect(analyser);
  const samples = new Float32Array(analyser.fftSize);
  let started = 0;
  let startedAt = 0; // wall clock, for recorded_at and the name
  let timer = 0;
  let frame = 0;

  const meter = () => {
    analyser.getFloatTimeDomainData(samples);
    let sum = 0;
    for (const v of samples) sum += v * v;
    // RMS scaled so ordinary speech moves the meter across most of its range.
    $('level').value = Math.min(1, Math.sqrt(sum / samples.length) * 4);
    frame = requestAnimationFrame(meter);
  };
  mr.ondataavailable = (e) => { if (e.data.size) chunks.push(e.data); };
  mr.onstart = () => {
    started = performance.now();
    startedAt = Date.now();
    timer = setInterval(() => { $('elapsed').textContent = clock(performance.now() - started); }, 250);
    meter();
  };
  mr.onstop = () => {
    const ms = Math.round(performance.now() - started);
    clearInterval(timer);
    cancelAnimationFrame(frame);
    stream.getTracks().forEach((t) => t.stop());
    actx.close();
    $('level').value = 0;
    // Rounded like every duration the list shows: 3.9 s is 0:04.
    $('elapsed').textContent = duration(ms);
    $('elapsed').dataset.ms = String(ms);
    const blobType = mr.mimeType || type || 'audio/webm';
    const blob = new Blob(chunks, { type: blobType });
    const name = `Recording ${localStamp(new Date(startedAt))}${extensionFor(blobType)}`;
    enqueue(blob, { name, type: blobType, durationMs: ms, recordedAt: recordedAt(startedAt) });
  };
  mr.start(1000);
  recorder = mr;
  setRecordButton(true);
  ctx.say('Recording. Press Stop to finish.');
}

function stopRecording() {
  recorder.stop();
  recorder = null;
  setRecordButton(false);
}

// --- uploading

// Browsers leave .m4a, .amr and others without a type; the server checks
// the real bytes anyway, so the extension is only a first guess.
const TYPES = {
  m4a: 'audio/mp4', mp4: 'audio/mp4', mp3: 'audio/mpeg', wav: 'audio/wav', webm: 'audio/webm', ogg: 'audio/ogg',
  opus: 'audio/ogg', flac: 'audio/flac', aac: 'audio/aac', amr: 'audio/amr', '3gp': 'audio/3gpp',
};

function typeOf(file) {
  if (file.type.startsWith('audio/')) return file.type;
  return TYPES[file.name.split('.').pop().toLowerCase()] || file.type || 'application/octet-stream';
}

function addFiles(files) {
  ctx.showError(null);
  // Each file keeps its own date: when it was last changed, usually when
  // it was recorded.
  for (const f of files) enqueue(f, { name: f.name, type: typeOf(f), recordedAt: recordedAt(f.lastModified) });
}

function enqueue(blob, meta) {
  ctx.queue.add(blob, meta)
    .then(() => ctx.say(navigator.onLine ? `Uploading ${meta.name}.` : problemMessage(meta.name, 'offline')))
    .catch((err) => ctx.showError(new Error(`“${meta.name}” could not be kept for upload: ${err.message}.`)));
}

const STATES = {
  waiting: 'Waiting',
  uploading: 'Uploading',
  retrying: 'Trying again soon',
  offline: 'Waiting for the network',
  checking: 'Checking',
  'signed-out': 'Waiting for you to sign in again',
};

// drawUploads shows the queue: name, progress with its percentage, what it
// is doing, and Cancel.
export function drawUploads(jobs) {
  const list = $('uploads');
  $('uploads-title').hidden = jobs.length === 0;
  list.replaceChildren(...jobs.map((job) => {
    const p = percent(job.sent, job.total);
    const bar = el('progress', { max: 100, value: p, 'aria-label': `Upload of ${job.name}` });
    return el('li', { class: 'upload', 'data-key': job.key, 'data-state': job.state },
      el('span', { class: 'name' }, job.name),
      el('span', { class: 'progress' }, bar, el('span', { class: 'pct' }, `${p}%`)),
      el('span', { class: 'state' }, STATES[job.state] || job.state),
      button('Cancel', `Cancel upload of ${job.name}`, async () => {
        await ctx.queue.cancel(job.key);
        ctx.say(`Upload of ${job.name} cancelled; nothing was kept.`);
        await refresh();
      }));
  }));
}

// uploaded follows complete's answer into the status line.
export function uploaded(job, rec) {
  if (rec.status === 'available') ctx.say(`${job.name} is uploaded and ready (${duration(rec.duration_ms)}).`);
  else if (rec.status === 'rejected') ctx.say(`${job.name} was not stored. ${rejectMessage(rec)}`);
  else {
    watched.set(rec.id, job.name);
    ctx.say(`${job.name} is uploaded; the server is checking it.`);
  }
  if (cursor === null) { refresh().catch(ctx.showError); return; }
  // complete's answer is the recording as it is now; the feed brings the
  // same change, which then changes nothing.
  latest = applyChanges(latest, [{ op: 'upsert', id: rec.id, recording: rec }]);
  settle();
  wake();
}

export function uploadFailed(job, err) {
  ctx.showError(new Error(problemMessage(job.name, err.code, err.status)));
  refresh().catch(() => {});
}

// uploadsChanged hears of the queue's changes: an upload that starts
// while the feed is read at leisure wants it read closely.
export function uploadsChanged(jobs) {
  if (jobs.length) wake();
}

// --- the list

// refresh lists every recording and follows the change feed from a
// cursor taken before the listing (so no change falls between the two).
export async function refresh() {
  stopFollowing();
  cursor = await latestCursor();
  // Every status in one listing, newest first (the trash stays out).
  latest = await listAll('all');
  settle();
  follow();
}

async function latestCursor() {
  try {
    return (await api('GET', '/v1/changes?from=latest')).cursor;
  } catch (err) {
    if (err.status === 404) return null; // a server from before the feed
    throw err;
  }
}

// settle shows `latest` and says what became of the uploads the status
// line follows.
function settle() {
  draw();
  for (const rec of latest) {
    const name = watched.get(rec.id);
    if (!name || rec.status === 'pending') continue;
    watched.delete(rec.id);
    if (rec.status === 'available') ctx.say(`${name} is uploaded and ready (${duration(rec.duration_ms)}).`);
    else ctx.say(`${name} was not stored. ${rejectMessage(rec)}`);
  }
  if (!busy()) ctx.refreshQuota();
}

function busy() {
  return latest.some((r) => r.status === 'pending') || ctx.queue.jobs.size > 0;
}

function stopFollowing() {
  feedRun++;
  clearTimeout(pollTimer);
  wake();
}

// Idle, the feed is read every IDLE_MS (changes from other devices show
// within that); while an upload is pending it is read with a long poll, so
// its confirmation shows at once. WAIT stays under the API's default
// request timeout less a second (9 s).
const IDLE_MS = 15_000;
const WAIT = '8s';

function follow() {
  stopFollowing();
  if (!shown || document.hidden) return;
  if (cursor === null) {
    // A pending recording turns available (or rejected) once storage has
    // told the server; without a feed, list again until none is left.
    if (latest.some((r) => r.status === 'pending')) pollTimer = setTimeout(() => refresh().catch(ctx.showError), 1000);
    return;
  }
  const run = feedRun;
  readFeed(run).catch((err) => { if (run === feedRun) ctx.showError(err); });
}

function pause(ms) {
  return new Promise((resolve) => {
    pollTimer = setTimeout(resolve, ms);
    wake = () => { clearTimeout(pollTimer); resolve(); };
  });
}

async function readFeed(run) {
  while (run === feedRun) {
    const q = new URLSearchParams({ cursor });
    const waiting = busy();
    if (waiting) q.set('wait', WAIT);
    let page;
    try {
      page = await api('GET', `/v1/changes?${q}`);
    } catch (err) {
      if (run !== feedRun) return;
      // Entries after the cursor are no longer kept: list afresh.
      if (err.code === 'cursor_expired') { refresh().catch(ctx.showError); return; }
      if (!err.transient) throw err;
      await pause(3000);
      continue;
    }
    if (run !== feedRun) return; // stopped meanwhile: the next reader reads it again
    cursor = page.cursor;
    if (page.changes.length) {
      latest = applyChanges(latest, page.changes);
      settle();
    }
    if (!page.has_more && !(waiting && busy())) await pause(busy() ? 0 : IDLE_MS);
  }
}

// A rename in progress holds the list still: the feed may bring changes
// at any moment, and drawing would throw away what is being typed.
let renaming = false;
let redrawWaits = false;

function draw() {
  if (renaming) { redrawWaits = true; return; }
  const list = $('recordings');
  // The button that had the focus has it again after the list is drawn
  // afresh, so a keyboard user is not sent back to the top.
  const active = document.activeElement;
  const keep = list.contains(active) ? { id: active.closest('li')?.dataset.id, label: active.getAttribute('aria-label') } : null;
  const sorted = sortRecordings(latest, $('sort').value);
  list.replaceChildren(...sorted.map(card));
  $('empty').hidden = latest.length > 0;
  if (keep?.id) {
    [...list.querySelectorAll(`li[data-id="${keep.id}"] button`)].find((b) => b.getAttribute('aria-label') === keep.label)?.focus();
  }
}

const STATUS = { pending: 'Checking…', available: '', rejected: 'Not stored' };
// A card's word for transcript_status; the player says the rest.
const TRANSCRIPT_WORDS = {
  pending: 'transcribing', completed: 'transcript', failed: 'no transcript', skipped: 'not transcribed', unsupported: 'not transcribed',
};

function card(rec) {
  const when = localMinute(new Date(rec.recorded_at || rec.created_at));
  const facts = [when, duration(rec.duration_ms), size(rec.size_bytes), TRANSCRIPT_WORDS[rec.transcript_status]]
    .filter(Boolean).join(' · ');
  const name = el('p', { class: 'name' }, rec.file_name);
  const li = el('li', {
    class: `card status-${rec.status}`, 'data-id': rec.id, 'data-status': rec.status,
    ...(rec.duration_ms != null ? { 'data-duration-ms': String(rec.duration_ms) } : {}),
  }, name, el('p', { class: 'facts' }, facts));
  if (STATUS[rec.status]) li.append(el('p', { class: 'state' }, STATUS[rec.status]));
  if (rec.status === 'rejected') li.append(el('p', { class: 'reason' }, rejectMessage(rec)));
  const actions = el('div', { class: 'actions' });
  if (rec.status === 'available') {
    actions.append(
      button('Play', `Play ${rec.file_name}`, () => play(rec)),
      button('Download', `Download ${rec.file_name}`, () => download(rec)),
      button('Share', `Share ${rec.file_name}`, () => share(rec)),
      button('Rename', `Rename ${rec.file_name}`, (b) => rename(rec, name, b)),
    );
  }
  const del = rec.status === 'available' ? 'Delete' : 'Remove';
  actions.append(button(del, `${del} ${rec.file_name}`, () => remove(rec)));
  li.append(actions);
  return li;
}

// play loads the recording into the player, from atMs when given (a
// search match, a transcript line), and shows its transcript under it.
async function play(rec, atMs = 0) {
  const { download: dl } = await api('GET', `/v1/recordings/${rec.id}`);
  const audio = $('audio');
  audio.dataset.id = rec.id;
  audio.dataset.startMs = String(atMs);
  $('player-name').textContent = rec.file_name;
  $('player').hidden = false;
  $('details').hidden = false;
  audio.src = dl.url;
  audio.focus();
  await Promise.all([
    audio.play().catch(() => {}), // autoplay may be refused; the controls are there
    showTranscript(rec).catch((err) => { $('transcript-status').textContent = problemMessage(rec.file_name, err.code, err.status); }),
  ]);
}

// seek plays the loaded recording from ms, or loads it first.
function seek(rec, ms) {
  const audio = $('audio');
  if (audio.dataset.id !== rec.id || !audio.src) return play(rec, ms);
  audio.currentTime = ms / 1000;
  return audio.play().catch(() => {});
}

let segments = [];

async function showTranscript(rec) {
  const list = $('transcript');
  list.replaceChildren();
  segments = [];
  $('transcript-status').textContent = transcriptMessage({ status: rec.transcript_status });
  const t = await api('GET', `/v1/recordings/${rec.id}/transcript`);
  if ($('audio').dataset.id !== rec.id) return; // another recording was chosen meanwhile
  $('transcript-status').textContent = transcriptMessage(t);
  segments = t.segments || [];
  list.replaceChildren(...segments.map((seg) => {
    const at = clock(seg.start_ms);
    const line = `${seg.speaker ? `${seg.speaker}: ` : ''}${seg.text}`;
    const b = button(el('span', { class: 'at' }, at), `${at} ${line}`, () => seek(rec, seg.start_ms));
    b.append(' ', el('span', {}, line));
    return el('li', {}, b);
  }));
}

// followTranscript marks the line being played.
function followTranscript() {
  const ms = $('audio').currentTime * 1000;
  const items = $('transcript').children;
  for (let i = 0; i < items.length; i++) {
    const on = ms >= segments[i]?.start_ms && ms < segments[i]?.end_ms;
    const b = items[i].firstChild;
    if (on) b.setAttribute('aria-current', 'true'); else b.removeAttribute('aria-current');
  }
}

// share makes a link and copies it; where the browser refuses the
// clipboard (no permission, an insecure page) the link is shown to copy by
// hand, since the server keeps no copy of it.
async function share(rec) {
  const s = await api('POST', `/v1/recordings/${rec.id}/shares`, {}).catch((err) => {
    throw new Error(problemMessage(rec.file_name, err.code, err.status));
  });
  const until = shareExpiry(s);
  let copied = false;
  try {
    await navigator.clipboard.writeText(s.url);
    copied = true;
  } catch { /* shown below instead */ }
  $('share-label').textContent = `Link to ${rec.file_name}`;
  $('share-link').value = s.url;
  $('share-box').hidden = copied;
  if (copied) {
    ctx.say(`The link to ${rec.file_name} is copied; it ${until}. Paste it into a message.`);
    return;
  }
  ctx.say(`The link to ${rec.file_name} is below; it ${until}. The browser did not let the page copy it: copy it from the box.`);
  $('share-link').focus();
  $('share-link').select();
}

// --- search

async function search() {
  const q = $('search').value.trim();
  if (!q) { clearSearch(); return; }
  const r = await api('GET', `/v1/recordings?${new URLSearchParams({ q, limit: '20' })}`).catch((err) => {
    throw new Error(problemMessage('', err.code, err.status));
  });
  $('results').hidden = false;
  $('search-clear').hidden = false;
  $('result-list').replaceChildren(...r.items.map(result));
  $('results-empty').hidden = r.items.length > 0;
  $('results-empty').textContent = `Nothing found for “${q}”. Every word must be in the name or the transcript.`;
  ctx.say(`${r.items.length} ${r.items.length === 1 ? 'recording matches' : 'recordings match'} “${q}”.`);
}

function clearSearch() {
  $('search').value = '';
  $('results').hidden = true;
  $('search-clear').hidden = true;
  $('result-list').replaceChildren();
  $('search').focus();
}

// result is a found recording: a transcript match plays from its moment,
// a name match from the start.
function result(rec) {
  const when = localMinute(new Date(rec.recorded_at || rec.created_at));
  const li = el('li', { class: 'card result', 'data-id': rec.id },
    el('p', { class: 'name' }, rec.file_name),
    el('p', { class: 'facts' }, [when, duration(rec.duration_ms)].filter(Boolean).join(' · ')));
  const actions = el('div', { class: 'actions' }, button('Play', `Play ${rec.file_name}`, () => play(rec)));
  li.append(actions);
  for (const m of rec.matches || []) {
    if (m.field !== 'transcript') continue;
    const at = clock(m.start_ms ?? 0);
    const who = m.speaker ? `${m.speaker}: ` : '';
    const text = `${at} ${who}${m.snippet}`;
    const b = button(text, `${text} (${rec.file_name})`, () => play(rec, m.start_ms ?? 0));
    b.classList.add('match');
    li.append(b);
  }
  return li;
}

// The download link answers with Content-Disposition: attachment and the
// recording's name, so following it saves the file and leaves the page.
async function download(rec) {
  const { download: dl } = await api('GET', `/v1/recordings/${rec.id}`);
  const a = el('a', { href: dl.url, hidden: '' });
  document.body.append(a);
  a.click();
  a.remove();
  ctx.say(`Downloading ${rec.file_name}.`);
}

// MediaRecorder's WebM carries no duration, so the element reports
// Infinity until it has seen the end: seeking far ahead makes it find out.
function findDuration(e) {
  const a = e.target;
  const start = Number(a.dataset.startMs || 0) / 1000;
  if (a.duration !== Infinity) { if (start) a.currentTime = start; return; }
  a.addEventListener('durationchange', () => { a.currentTime = start; }, { once: true });
  a.currentTime = Number.MAX_SAFE_INTEGER;
}

function rename(rec, nameEl, btn) {
  const input = el('input', { value: rec.file_name, 'aria-label': `New name for ${rec.file_name}` });
  let saving = false;
  let over = false;
  const end = () => {
    over = true;
    renaming = false;
    if (redrawWaits) { redrawWaits = false; draw(); }
  };
  const cancel = (focusButton) => {
    if (over) return;
    over = true;
    nameEl.textContent = rec.file_name;
    if (focusButton) btn.focus();
    end();
  };
  input.onkeydown = (e) => {
    if (e.key === 'Escape') cancel(true);
    if (e.key !== 'Enter' || saving) return;
    const name = input.value.trim();
    if (!name || name === rec.file_name) { cancel(true); return; }
    saving = true;
    api('PATCH', `/v1/recordings/${rec.id}`, { file_name: name })
      .then(() => { ctx.say(`Renamed ${rec.file_name} to ${name}.`); redrawWaits = false; end(); return refresh(); })
      .catch((err) => { saving = false; ctx.showError(new Error(problemMessage(name, err.code, err.status))); input.focus(); });
  };
  // Leaving the field (a tap elsewhere) gives up the rename, unless it is
  // being saved.
  input.onblur = () => { if (!saving) cancel(false); };
  renaming = true;
  nameEl.replaceChildren(input);
  input.focus();
  input.select();
}

async function remove(rec) {
  const pending = rec.status !== 'available';
  const ok = await ask(pending
    ? { title: `Remove “${rec.file_name}”?`, text: 'It was not stored, so there is nothing to restore later.', action: 'Remove' }
    : { title: `Delete “${rec.file_name}”?`, text: trashNotice(ctx.config.trash_retention_days), action: 'Move to trash' });
  if (!ok) return;
  const res = await api('DELETE', `/v1/recordings/${rec.id}`);
  const audio = $('audio');
  if (audio.dataset.id === rec.id) {
    audio.pause();
    audio.removeAttribute('src');
    delete audio.dataset.id;
    $('player').hidden = true;
    $('details').hidden = true;
  }
  const undo = res?.outcome === 'trashed' ? {
    label: 'Undo',
    label_for: `Undo delete of ${rec.file_name}`,
    run: async () => {
      await api('POST', `/v1/recordings/${rec.id}/restore`);
      ctx.say(`${rec.file_name} is back in your recordings.`);
      await refresh();
    },
  } : undefined;
  ctx.say(deleteMessage(rec.file_name, res), undo);
  await refresh();
}
