// The web companion: sign in, record or pick audio, upload it straight to
// storage through presigned URLs, then list, play, rename and delete. It
// speaks only the public API (same origin) and the URLs the API signs
// (storage, another origin), exactly as a phone app does.

import { deleteMessage, duration, localStamp, recordedAt } from './format.js';

const $ = (id) => document.getElementById(id);
const SESSION_KEY = 'recorder.session';
// Above this a file is not read into memory to hash it; storage still holds
// the upload to its declared length and the server probes the audio.
const HASH_LIMIT = 64 << 20;
const PART_CONCURRENCY = 3;

let session = JSON.parse(localStorage.getItem(SESSION_KEY) || 'null');
if (session && Date.parse(session.expires_at) <= Date.now()) session = null;

class ProblemError extends Error {
  constructor(detail, code, status) { super(detail); this.code = code; this.status = status; }
}

// api calls the API and turns a problem+json answer into a ProblemError
// whose message is the problem's detail, which is written for people.
async function api(method, path, body) {
  const headers = {};
  if (session) headers.Authorization = `Bearer ${session.access_token}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const data = res.status === 204 ? null : await res.json().catch(() => null);
  if (!res.ok) {
    if (res.status === 401 && session) forgetSession();
    throw new ProblemError(data?.detail || data?.title || `${res.status} ${res.statusText}`, data?.code, res.status);
  }
  return data;
}

function showError(err) {
  const box = $('error');
  box.textContent = err ? (err.message || String(err)) : '';
  box.hidden = !err;
  if (err) console.error(err);
}

function say(text) { $('status').textContent = text; }

// --- signing in

function keepSession(s) {
  session = s;
  localStorage.setItem(SESSION_KEY, JSON.stringify(s));
}

function forgetSession() {
  session = null;
  localStorage.removeItem(SESSION_KEY);
  render();
}

async function login(provider, idToken, nonce) {
  keepSession(await api('POST', '/v1/auth/login', { provider, id_token: idToken, nonce }));
  say(`Signed in as ${displayName(session.user)}.`);
  render();
}

function displayName(user) {
  return user?.name || user?.email || user?.id || '';
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

async function setUpSignIn() {
  const [{ providers }, cfg] = await Promise.all([
    api('GET', '/v1/auth/providers'),
    fetch('config.json').then((r) => r.json()),
  ]);
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
  if (cfg.google_client_id && providers.some((p) => p.name === 'google')) {
    offered = true;
    googleSignIn(cfg.google_client_id).catch(showError);
  }
  $('no-provider').hidden = offered;
}

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

// clock is the running time of a recording in progress, in whole seconds
// gone by (a list's durations are rounded: format.js's duration).
function clock(ms) {
  const s = Math.floor(ms / 1000);
  const h = Math.floor(s / 3600);
  const mm = String(Math.floor(s / 60) % 60);
  const ss = String(s % 60).padStart(2, '0');
  return h ? `${h}:${mm.padStart(2, '0')}:${ss}` : `${mm}:${ss}`;
}

async function startRecording() {
  showError(null);
  const stream = await navigator.mediaDevices.getUserMedia({ audio: true });
  const type = recordingType();
  const mr = new MediaRecorder(stream, type ? { mimeType: type } : undefined);
  const chunks = [];
  const ctx = new AudioContext();
  const analyser = ctx.createAnalyser();
  analyser.fftSize = 1024;
  ctx.createMediaStreamSource(stream).connect(analyser);
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
    ctx.close();
    $('level').value = 0;
    $('elapsed').textContent = clock(ms);
    $('elapsed').dataset.ms = String(ms);
    const blobType = mr.mimeType || type || 'audio/webm';
    const blob = new Blob(chunks, { type: blobType });
    const name = `Recording ${localStamp(new Date(startedAt))}${extensionFor(blobType)}`;
    upload(blob, name, blobType, ms, startedAt).catch(showError);
  };
  mr.start(1000);
  recorder = mr;
  $('record').setAttribute('aria-pressed', 'true');
  $('record').disabled = true;
  $('stop').disabled = false;
  $('stop').focus();
  say('Recording.');
}

function stopRecording() {
  if (!recorder) return;
  recorder.stop();
  recorder = null;
  $('record').setAttribute('aria-pressed', 'false');
  $('record').disabled = false;
  $('stop').disabled = true;
  $('record').focus();
  say('Recording stopped; uploading.');
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

async function sha256Base64(blob) {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', await blob.arrayBuffer()));
  return btoa(String.fromCharCode(...digest));
}

// put sends body with XMLHttpRequest, the one browser API that reports
// upload progress. Headers the browser sets itself are skipped.
function put(url, headers, body, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('PUT', url);
    for (const [k, v] of Object.entries(headers || {})) {
      if (!['content-length', 'host'].includes(k.toLowerCase())) xhr.setRequestHeader(k, v);
    }
    xhr.upload.onprogress = (e) => onProgress(e.loaded);
    xhr.onload = () => {
      if (xhr.status >= 200 && xhr.status < 300) resolve(xhr);
      else reject(Object.assign(new Error(`storage refused the upload (${xhr.status})`), { transient: xhr.status >= 500 }));
    };
    xhr.onerror = () => reject(Object.assign(new Error('the upload did not reach storage (network or CORS)'), { transient: true }));
    xhr.send(body);
  });
}

// retry runs fn up to three times while it fails in a way that may pass
// (a network error, a 5xx from storage); a refusal is final at once.
async function retry(fn) {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (!err.transient || attempt === 3) throw err;
      await new Promise((r) => setTimeout(r, 1000 * attempt));
    }
  }
}

function uploadRow(name) {
  const li = document.createElement('li');
  const label = document.createElement('span');
  label.textContent = name;
  const bar = document.createElement('progress');
  bar.max = 1;
  bar.value = 0;
  bar.setAttribute('aria-label', `Upload of ${name}`);
  li.append(label, bar);
  $('uploads').append(li);
  return { li, bar };
}

// upload sends blob as a new recording; madeAt (ms since 1970) is when it
// was recorded: the start of a recording made here, a picked file's
// lastModified.
async function upload(blob, name, type, durationMs, madeAt) {
  const row = uploadRow(name);
  try {
    const req = { file_name: name, content_type: type, size_bytes: blob.size };
    const at = recordedAt(madeAt);
    if (at) req.recorded_at = at;
    if (durationMs) req.duration_ms = durationMs;
    if (blob.size <= HASH_LIMIT) req.sha256 = await sha256Base64(blob);
    const { recording: rec, upload: up } = await api('POST', '/v1/recordings', req);
    const progress = (sent) => { row.bar.value = sent / blob.size; };
    let done;
    if (up.method === 'MULTIPART') done = await uploadParts(rec.id, blob, up, progress);
    else {
      await retry(() => put(up.url, up.headers, blob, progress));
      done = await confirmUpload(rec.id);
    }
    row.bar.value = 1;
    if (done?.status === 'available') say(`Uploaded ${name}.`);
    else if (done?.status === 'rejected') say(`The server refused ${name}: ${done.reject_detail || done.reject_reason}.`);
    else say(`Uploaded ${name}; waiting for the server to confirm it.`);
    // The list polls on its own while anything is still pending.
    await refresh();
  } catch (err) {
    showError(err);
  } finally {
    row.li.remove();
  }
}

// confirmUpload asks the server to check a single PUT now rather than when the
// storage event comes, and answers the recording as it is then. A failed
// call is no failed upload: the event confirms it, and the list polls.
async function confirmUpload(id) {
  try {
    return await api('POST', `/v1/recordings/${id}/complete`, {});
  } catch {
    return null;
  }
}

// uploadParts sends a multipart upload a few parts at a time; storage
// answers each with an ETag (the bucket's CORS exposes it), which complete
// needs in part order.
async function uploadParts(id, blob, up, progress) {
  const sent = new Array(up.part_count + 1).fill(0);
  const etags = [];
  const report = () => progress(sent.reduce((a, b) => a + b, 0));
  let next = 1;
  const worker = async () => {
    while (next <= up.part_count) {
      const n = next++;
      const part = blob.slice((n - 1) * up.part_size, n * up.part_size);
      // The URL signs the part's digest: storage refuses any other body.
      const sha256 = await sha256Base64(part);
      // Each attempt signs afresh: a retried part may outlive its URL.
      const xhr = await retry(async () => {
        const { parts } = await api('POST', `/v1/recordings/${id}/parts`, { parts: [{ part_number: n, sha256 }] });
        return put(parts[0].url, parts[0].headers, part, (b) => { sent[n] = b; report(); });
      });
      const etag = xhr.getResponseHeader('ETag');
      if (!etag) throw new Error('storage did not expose the part\'s ETag (check the bucket\'s CORS)');
      etags[n - 1] = { part_number: n, etag, sha256 };
    }
  };
  await Promise.all(Array.from({ length: Math.min(PART_CONCURRENCY, up.part_count) }, worker));
  return api('POST', `/v1/recordings/${id}/complete`, { parts: etags });
}

function uploadFiles(files) {
  showError(null);
  for (const f of files) upload(f, f.name, typeOf(f), undefined, f.lastModified).catch(showError);
}

// --- the list

let pollTimer = 0;

async function listAll(status) {
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

async function refresh() {
  clearTimeout(pollTimer);
  if (!session) return;
  // Every status in one listing, newest first (the trash stays out).
  const all = await listAll('all');
  const body = $('recordings');
  body.replaceChildren(...all.map(row));
  $('empty').hidden = all.length > 0;
  // A pending recording turns available (or rejected) once storage has
  // told the server; ask again until none is left.
  if (all.some((r) => r.status === 'pending')) pollTimer = setTimeout(() => refresh().catch(showError), 1000);
}

function size(bytes) {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1 << 20) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / (1 << 20)).toFixed(1)} MB`;
}

function cell(text, cls) {
  const td = document.createElement('td');
  td.textContent = text;
  if (cls) td.className = cls;
  return td;
}

function button(label, ariaLabel, onClick) {
  const b = document.createElement('button');
  b.type = 'button';
  b.textContent = label;
  b.setAttribute('aria-label', ariaLabel);
  b.onclick = () => { showError(null); onClick(b).catch(showError); };
  return b;
}

function row(rec) {
  const tr = document.createElement('tr');
  tr.dataset.id = rec.id;
  tr.dataset.status = rec.status;
  if (rec.duration_ms != null) tr.dataset.durationMs = String(rec.duration_ms);
  const name = cell(rec.file_name, 'name');
  const status = cell(rec.status, `status-${rec.status}`);
  if (rec.reject_detail) status.title = rec.reject_detail;
  const actions = document.createElement('td');
  actions.className = 'actions';
  if (rec.status === 'available') {
    actions.append(button('Play', `Play ${rec.file_name}`, () => play(rec)));
    actions.append(button('Rename', `Rename ${rec.file_name}`, (b) => rename(rec, name, b)));
  }
  actions.append(button('Delete', `Delete ${rec.file_name}`, () => remove(rec)));
  tr.append(
    name,
    cell(duration(rec.duration_ms), 'num'),
    cell(size(rec.size_bytes), 'num'),
    cell(new Date(rec.recorded_at || rec.created_at).toLocaleString(), 'num'),
    status,
    actions,
  );
  return tr;
}

async function play(rec) {
  const { download } = await api('GET', `/v1/recordings/${rec.id}`);
  const audio = $('audio');
  audio.dataset.id = rec.id;
  $('player-name').textContent = rec.file_name;
  $('player').hidden = false;
  audio.src = download.url;
  audio.focus();
  await audio.play().catch(() => {}); // autoplay may be refused; the controls are there
}

// MediaRecorder's WebM carries no duration, so the element reports
// Infinity until it has seen the end: seeking far ahead makes it find out.
$('audio').addEventListener('loadedmetadata', (e) => {
  const a = e.target;
  if (a.duration !== Infinity) return;
  a.addEventListener('durationchange', () => { a.currentTime = 0; }, { once: true });
  a.currentTime = Number.MAX_SAFE_INTEGER;
});

function rename(rec, td, btn) {
  const input = document.createElement('input');
  input.value = rec.file_name;
  input.setAttribute('aria-label', `New name for ${rec.file_name}`);
  const done = () => { td.textContent = rec.file_name; btn.focus(); };
  input.onkeydown = (e) => {
    if (e.key === 'Escape') done();
    if (e.key !== 'Enter') return;
    const name = input.value.trim();
    if (!name || name === rec.file_name) return done();
    api('PATCH', `/v1/recordings/${rec.id}`, { file_name: name })
      .then(() => { say(`Renamed to ${name}.`); return refresh(); })
      .catch((err) => { showError(err); input.focus(); });
  };
  td.replaceChildren(input);
  input.focus();
  input.select();
  return Promise.resolve();
}

async function remove(rec) {
  if (!confirm(`Delete “${rec.file_name}”?`)) return;
  const res = await api('DELETE', `/v1/recordings/${rec.id}`);
  const audio = $('audio');
  if (audio.dataset.id === rec.id) {
    audio.pause();
    audio.removeAttribute('src');
    $('player').hidden = true;
  }
  say(deleteMessage(rec.file_name, res));
  await refresh();
}

// --- the page

function render() {
  const signedIn = !!session;
  $('sign-in').hidden = signedIn;
  $('app').hidden = !signedIn;
  $('who').hidden = !signedIn;
  $('who-name').textContent = signedIn ? displayName(session.user) : '';
  if (signedIn) refresh().catch(showError);
}

$('record').onclick = () => startRecording().catch(showError);
$('stop').onclick = stopRecording;
$('files').onchange = (e) => { uploadFiles(e.target.files); e.target.value = ''; };
const drop = $('drop');
drop.ondragover = (e) => { e.preventDefault(); drop.classList.add('over'); };
drop.ondragleave = () => drop.classList.remove('over');
drop.ondrop = (e) => { e.preventDefault(); drop.classList.remove('over'); uploadFiles(e.dataTransfer.files); };
$('sign-out').onclick = () => {
  api('POST', '/v1/auth/logout').catch(() => {}).finally(forgetSession);
};
$('delete-account').onclick = () => {
  if (!confirm('Delete your account and every recording in it? This cannot be undone.')) return;
  api('DELETE', '/v1/me')
    .then((r) => { forgetSession(); say(r?.provider_notices?.map((n) => n.detail).join(' ') || 'Your account is deleted.'); })
    .catch(showError);
};

render();
setUpSignIn().catch(showError);
