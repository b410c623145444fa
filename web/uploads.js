// The upload queue. Every recording made and file picked is first written
// to IndexedDB, then uploaded from there: it waits out a lost connection
// and survives a reload. A multipart upload resumes from the parts storage
// already holds (GET /v1/recordings/{id}/parts is the truth, not what this
// page remembers), so a reload re-sends only the parts storage lacks.

import { api, currentSession, ProblemError } from './api.js';

// Above this a file is not read into memory to hash it; storage still holds
// the upload to its declared length and the server probes the audio.
const HASH_LIMIT = 64 << 20;
const PART_CONCURRENCY = 3;
// Uploads at once: a folder of files picked together goes up a few at a
// time instead of all declared (and holding quota) at once.
const JOB_CONCURRENCY = 2;
// A presigned PUT this close to its expiry is not started: it could
// expire mid-way.
const URL_MARGIN_MS = 60_000;
// How soon an upload that could not reach the network or the server is
// tried again.
const RETRY_MS = 3000;

const DB_NAME = 'recorder';
const STORE = 'uploads';

function openDB() {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(DB_NAME, 1);
    req.onupgradeneeded = () => req.result.createObjectStore(STORE, { keyPath: 'key' });
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

const dbReady = openDB();
// Without IndexedDB (some private modes) add() fails and says so; the
// rejection is not an error of its own at load.
dbReady.catch(() => {});

async function tx(mode, fn) {
  const db = await dbReady;
  return new Promise((resolve, reject) => {
    const t = db.transaction(STORE, mode);
    const result = fn(t.objectStore(STORE));
    t.oncomplete = () => resolve(result.result);
    t.onerror = () => reject(t.error);
    t.onabort = () => reject(t.error);
  });
}

const saveItem = (item) => tx('readwrite', (s) => s.put(item));
const dropItem = (key) => tx('readwrite', (s) => s.delete(key));
const allItems = () => tx('readonly', (s) => s.getAll());

async function sha256Base64(blob) {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', await blob.arrayBuffer()));
  return btoa(String.fromCharCode(...digest));
}

class Cancelled extends Error {}

// put sends body with XMLHttpRequest, the one browser API that reports
// upload progress. Headers the browser sets itself are skipped. The
// request is registered on job so a cancel can abort it.
function put(job, url, headers, body, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('PUT', url);
    for (const [k, v] of Object.entries(headers || {})) {
      if (!['content-length', 'host'].includes(k.toLowerCase())) xhr.setRequestHeader(k, v);
    }
    xhr.upload.onprogress = (e) => onProgress(e.loaded);
    job.xhrs.add(xhr);
    const settle = (fn) => { job.xhrs.delete(xhr); fn(); };
    xhr.onload = () => settle(() => {
      if (xhr.status >= 200 && xhr.status < 300) resolve(xhr);
      else reject(new ProblemError(`storage answered ${xhr.status}`, xhr.status >= 500 ? 'storage_unavailable' : 'storage_refused', xhr.status));
    });
    xhr.onerror = () => settle(() => reject(new ProblemError('the upload did not reach storage', 'offline', 0)));
    xhr.onabort = () => settle(() => reject(new Cancelled()));
    xhr.send(body);
  });
}

// Queue runs the uploads of the signed-in user. listeners.change(jobs) is
// called whenever a job's state or progress moves; listeners.done(job,
// recording) once the server has answered complete; listeners.failed(job,
// err) when a job is given up (the error says why, for that file).
export class Queue {
  constructor(listeners) {
    this.listeners = listeners;
    this.jobs = new Map(); // key -> job (what the page shows)
    this.running = new Set();
    // Cancelled keys stay known, so a kick that read the store just before
    // the cancel removed the entry does not start it again.
    this.cancelled = new Set();
    window.addEventListener('online', () => this.kick());
  }

  // add keeps blob as a new upload and starts it when it can.
  async add(blob, meta) {
    const item = {
      key: crypto.randomUUID(),
      user: currentSession()?.user?.id,
      blob, name: meta.name, type: meta.type, durationMs: meta.durationMs, recordedAt: meta.recordedAt,
      attempt: 0, added: Date.now(),
    };
    await saveItem(item);
    this.track(item);
    this.kick();
    return item.key;
  }

  track(item) {
    if (!this.jobs.has(item.key)) {
      this.jobs.set(item.key, { key: item.key, name: item.name, total: item.blob.size, sent: 0, state: 'waiting', xhrs: new Set(), item });
    }
    return this.jobs.get(item.key);
  }

  changed() { this.listeners.change([...this.jobs.values()]); }

  // kick starts every kept upload of this user that is not running: at
  // start-up, after an add, when the network returns.
  async kick() {
    const user = currentSession()?.user?.id;
    if (!user) return;
    for (const item of await allItems()) {
      if (item.user !== user || this.running.has(item.key) || this.cancelled.has(item.key)) continue;
      const job = this.track(item);
      if (this.running.size >= JOB_CONCURRENCY) break;
      this.running.add(item.key);
      this.run(job).finally(() => {
        this.running.delete(item.key);
        // A finished job frees its place for the next one; one that waits
        // (offline, retrying) is started again by its own trigger.
        if (!this.jobs.has(item.key)) this.kick();
      });
    }
    this.changed();
  }

  kickLater() {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.kick(), RETRY_MS);
  }

  async cancel(key) {
    const job = this.jobs.get(key);
    if (!job) return;
    job.cancelled = true;
    this.cancelled.add(key);
    for (const xhr of job.xhrs) xhr.abort();
    this.jobs.delete(key);
    await dropItem(key);
    this.changed();
    // The server cancels a pending upload it has declared (a multipart one
    // is aborted, its reservation released).
    if (job.item.recordingId) {
      await api('DELETE', `/v1/recordings/${job.item.recordingId}`).catch(() => {});
    }
  }

  setState(job, state) {
    job.state = state;
    this.changed();
  }

  async run(job) {
    if (!navigator.onLine) return this.setState(job, 'offline'); // the online event kicks
    try {
      this.setState(job, 'uploading');
      const rec = await this.upload(job);
      if (job.cancelled) return;
      await dropItem(job.key);
      this.jobs.delete(job.key);
      this.changed();
      this.listeners.done(job, rec);
    } catch (err) {
      if (err instanceof Cancelled || job.cancelled) return;
      // navigator.onLine can say online while nothing gets through (and
      // the online event may never come): try again on a timer too.
      if (err.code === 'offline' || !navigator.onLine) {
        this.setState(job, 'offline');
        this.kickLater();
        return;
      }
      // A sign-in that expired keeps the upload: it goes on after the
      // next sign-in (app.js kicks the queue then).
      if (err.status === 401) return this.setState(job, 'signed-out');
      if (err.transient) {
        this.setState(job, 'retrying');
        this.kickLater();
        return;
      }
      await dropItem(job.key);
      this.jobs.delete(job.key);
      this.changed();
      this.listeners.failed(job, err);
    }
  }

  // upload takes the job from wherever it stopped to complete's answer.
  async upload(job) {
    const item = job.item;
    if (item.blob.size === 0) throw new ProblemError('empty file', 'empty', 400);
    if (!item.recordingId) {
      const finished = await this.declare(job);
      if (finished) return finished;
    }
    try {
      if (item.method === 'MULTIPART') return await this.uploadParts(job);
      return await this.uploadSingle(job);
    } catch (err) {
      // The upload window closed while it waited (a long time offline):
      // declare it afresh, once.
      if ((err.code === 'not_found' || err.code === 'conflict') && item.attempt < 2) {
        item.attempt++;
        item.recordingId = undefined;
        await saveItem(item);
        job.sent = 0;
        return this.upload(job);
      }
      throw err;
    }
  }

  // declare creates the recording and keeps what the server answered, so
  // a reload continues this upload instead of declaring another. The
  // Idempotency-Key makes a create whose answer was lost return the same
  // recording. It answers a recording only when there is nothing left to
  // upload.
  async declare(job) {
    const item = job.item;
    const req = { file_name: item.name, content_type: item.type, size_bytes: item.blob.size };
    if (item.recordedAt) req.recorded_at = item.recordedAt;
    if (item.durationMs) req.duration_ms = item.durationMs;
    if (item.blob.size <= HASH_LIMIT) {
      item.sha256 ??= await sha256Base64(item.blob);
      req.sha256 = item.sha256;
    }
    const { recording, upload } = await api('POST', '/v1/recordings', req, { 'Idempotency-Key': `${item.key}.${item.attempt}` });
    if (!upload) {
      // A replay of a create whose recording is no longer pending: it is
      // done (then that is the answer) or its window closed (then it is
      // declared afresh under a new key, a few times at most).
      if (recording.status !== 'pending') return recording;
      if (item.attempt >= 2) throw new ProblemError('the upload window closed', 'conflict', 409);
      item.attempt++;
      await saveItem(item);
      return this.declare(job);
    }
    if (job.cancelled) {
      // Cancelled while the server declared it: nothing is kept.
      await api('DELETE', `/v1/recordings/${recording.id}`).catch(() => {});
      throw new Cancelled();
    }
    Object.assign(item, {
      recordingId: recording.id, method: upload.method, url: upload.url, headers: upload.headers,
      urlExpires: upload.expires_at, partSize: upload.part_size, partCount: upload.part_count,
    });
    await saveItem(item);
  }

  async uploadSingle(job) {
    const item = job.item;
    if (Date.parse(item.urlExpires) - Date.now() < URL_MARGIN_MS) {
      // The URL is spent: the PUT may have finished before a reload, so
      // ask first; else start over with a fresh declaration.
      const rec = await this.complete(job, undefined);
      if (rec.status !== 'pending') return rec;
      await api('DELETE', `/v1/recordings/${item.recordingId}`).catch(() => {});
      throw new ProblemError('upload window closed', 'not_found', 404);
    }
    await put(job, item.url, item.headers, item.blob, (b) => { job.sent = b; this.changed(); });
    job.sent = job.total;
    return this.complete(job, undefined);
  }

  async uploadParts(job) {
    const item = job.item;
    const { parts: held } = await api('GET', `/v1/recordings/${item.recordingId}/parts`);
    const done = new Map();
    const partLength = (n) => Math.min(item.partSize, item.blob.size - (n - 1) * item.partSize);
    for (const p of held) {
      // A held part counts only when it is the whole part with a digest
      // complete can name; anything else is sent again.
      if (p.sha256 && p.size_bytes === partLength(p.part_number)) done.set(p.part_number, { part_number: p.part_number, etag: p.etag, sha256: p.sha256 });
    }
    const sent = new Map();
    for (const n of done.keys()) sent.set(n, partLength(n));
    const report = () => { job.sent = [...sent.values()].reduce((a, b) => a + b, 0); this.changed(); };
    report();
    const missing = [];
    for (let n = 1; n <= item.partCount; n++) if (!done.has(n)) missing.push(n);
    const worker = async () => {
      while (missing.length) {
        if (job.cancelled) throw new Cancelled();
        const n = missing.shift();
        const part = item.blob.slice((n - 1) * item.partSize, n * item.partSize);
        // The URL signs the part's digest: storage refuses any other body.
        const sha256 = await sha256Base64(part);
        const { parts } = await api('POST', `/v1/recordings/${item.recordingId}/parts`, { parts: [{ part_number: n, sha256 }] });
        const xhr = await put(job, parts[0].url, parts[0].headers, part, (b) => { sent.set(n, b); report(); });
        const etag = xhr.getResponseHeader('ETag');
        if (!etag) throw new ProblemError('storage did not expose the part\'s ETag (check the bucket\'s CORS)', 'storage_refused', 0);
        done.set(n, { part_number: n, etag, sha256 });
      }
    };
    await Promise.all(Array.from({ length: Math.min(PART_CONCURRENCY, missing.length) }, worker));
    const list = [...done.values()].sort((a, b) => a.part_number - b.part_number);
    return this.complete(job, { parts: list });
  }

  // complete asks the server to check the upload now; its answer is the
  // recording's state (available, rejected, or pending while storage has
  // not shown it yet, which the list then follows).
  async complete(job, body) {
    this.setState(job, 'checking');
    return api('POST', `/v1/recordings/${job.item.recordingId}/complete`, body ?? {});
  }

  // forget drops every kept upload of user (the account is gone).
  async forget(user) {
    for (const item of await allItems()) if (item.user === user) await dropItem(item.key);
    this.jobs.clear();
    this.changed();
  }
}
