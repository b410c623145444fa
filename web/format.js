// Pure helpers of the page, in a module of their own so that node can test
// them without a browser (web/test/format.test.mjs).

// The API takes recorded_at from 1970 to two days ahead of its clock; one
// day ahead of ours leaves a day for the two clocks to disagree.
const MIN_RECORDED_AT = 0;
const MAX_RECORDED_AHEAD_MS = 24 * 3600 * 1000;

// recordedAt is the recorded_at to declare for a moment given in
// milliseconds since 1970 (a file's lastModified, a recording's start), or
// undefined when there is none worth sending: a made-up date would be worse
// than the creation time the server falls back to.
export function recordedAt(ms, now = Date.now()) {
  if (typeof ms !== 'number' || !Number.isFinite(ms)) return undefined;
  if (ms < MIN_RECORDED_AT || ms > now + MAX_RECORDED_AHEAD_MS) return undefined;
  return new Date(ms).toISOString();
}

const pad = (n, width = 2) => String(n).padStart(width, '0');

// localStamp names a recording by when it started, in the person's own
// time zone: "2026-12-06 14.05.09" (dots, since some systems refuse ":"
// in file names).
export function localStamp(date) {
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} `
    + `${pad(date.getHours())}.${pad(date.getMinutes())}.${pad(date.getSeconds())}`;
}

// duration shows a duration_ms as H:MM:SS (M:SS under an hour), rounded to
// the second: '' when there is none, '?' when it is not a duration (negative,
// not a number, beyond the int64 the API sends). Absurd but possible values
// are shown as the numbers they are; above 2^53 ms the digits are as exact as
// JSON numbers in a browser can be.
export function duration(ms) {
  if (ms === undefined || ms === null) return '';
  if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0 || ms > 2 ** 63) return '?';
  const s = Math.round(ms / 1000);
  const h = Math.floor(s / 3600);
  const mm = String(Math.floor(s / 60) % 60);
  const ss = String(s % 60).padStart(2, '0');
  return h ? `${h}:${mm.padStart(2, '0')}:${ss}` : `${mm}:${ss}`;
}

// localMinute is a date as "2026-01-31 21:00" in the person's time zone,
// as the CLI prints it.
export function localMinute(date) {
  return localStamp(date).slice(0, 16).replace('.', ':');
}

// deleteMessage says what DELETE /v1/recordings/{id} did to the recording
// called name, from the answer's body: {outcome, recording}. A server from
// before outcomes answers 204 and no body (null): it did what was asked.
export function deleteMessage(name, body, purge = false) {
  const outcome = body?.outcome || (purge ? 'deleted' : 'trashed');
  const purgeAt = Date.parse(body?.recording?.purge_at ?? '');
  const until = Number.isFinite(purgeAt) ? ` (restorable until ${localMinute(new Date(purgeAt))})` : '';
  switch (outcome) {
    case 'trashed': return `${name}: moved to the trash${until}.`;
    case 'already_in_trash': return `${name}: already in the trash${until}.`;
    case 'deleted': return `${name}: deleted for good.`;
    default: return `${name}: the server answered “${outcome}”.`;
  }
}

// clock is the running time of a recording in progress, in whole seconds
// gone by; once it stops the page shows duration(), rounded like the list.
export function clock(ms) {
  return duration(Math.floor(ms / 1000) * 1000);
}

// size is a byte count for people: 1000-based would disagree with the CLI,
// which prints KiB-based figures as KB and MB.
export function size(bytes) {
  if (typeof bytes !== 'number' || !Number.isFinite(bytes) || bytes < 0) return '?';
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1 << 20) return `${(bytes / 1024).toFixed(1)} KB`;
  if (bytes < 1 << 30) return `${(bytes / (1 << 20)).toFixed(1)} MB`;
  return `${(bytes / (1 << 30)).toFixed(1)} GB`;
}

// percent is sent of total as a whole percentage that reaches 100 only
// when everything is sent, so a bar never claims done too early.
export function percent(sent, total) {
  if (!(total > 0)) return 0;
  const p = Math.floor((sent / total) * 100);
  return Math.max(0, Math.min(sent >= total ? 100 : 99, p));
}

// recordingDate is the moment a recording is filed under: when it was
// made when the app said so, else when it was declared.
export function recordingDate(rec) {
  return Date.parse(rec.recorded_at || rec.created_at) || 0;
}

const collator = new Intl.Collator(undefined, { numeric: true, sensitivity: 'base' });

// SORTS are the list's orders: the newest first, by name (numbers in names
// in numeric order, case ignored) and the longest first. Ties fall back to
// the newest first, then the id, so the order never flickers between polls.
export const SORTS = {
  date: { label: 'Newest first', compare: (a, b) => recordingDate(b) - recordingDate(a) },
  name: { label: 'Name', compare: (a, b) => collator.compare(a.file_name, b.file_name) },
  duration: { label: 'Longest first', compare: (a, b) => (b.duration_ms ?? -1) - (a.duration_ms ?? -1) },
};

export function sortRecordings(list, key) {
  const primary = (SORTS[key] || SORTS.date).compare;
  return [...list].sort((a, b) => primary(a, b) || SORTS.date.compare(a, b) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

// REJECTIONS say why the server refused an upload, for the reject_reason
// codes of the API; reject_detail adds the specifics.
const REJECTIONS = {
  size_mismatch: 'what arrived was not the size the page announced (was the file changed during the upload?)',
  type_mismatch: 'its contents are not the kind of audio its name or type says',
  checksum_mismatch: 'its contents changed on the way to storage',
  not_audio: 'it is not an audio file',
  unreadable_audio: 'its audio could not be read',
};

// rejectMessage is the sentence shown on a rejected recording's card.
export function rejectMessage(rec) {
  const why = REJECTIONS[rec.reject_reason] || 'the server could not accept it';
  const detail = rec.reject_detail ? ` ${rec.reject_detail}` : '';
  return `Not stored: ${why}.${detail}`;
}

// problemMessage turns an API problem (its code) or a network failure into
// a sentence about the file it concerns, in words a person uses: the API's
// details name request fields ("size_bytes must be at least 1") and say
// nothing of which of several files failed.
export function problemMessage(name, code, status) {
  const it = name ? `“${name}”` : 'This';
  switch (code) {
    case 'offline': return `${it} waits: there is no connection. It is kept on this device and uploads when the network returns.`;
    case 'empty': return `${it} is empty (0 bytes), so there is nothing to upload. Choose another file.`;
    case 'quota_exceeded': return `${it} does not fit: your account is full. Empty the trash or delete recordings you no longer need, then try again.`;
    case 'too_large': return `${it} is larger than the largest recording the server takes. Split it or record a shorter one.`;
    case 'unsupported_media_type': return `${it} is not a kind of audio the server takes. Choose an audio file (M4A, MP3, WAV, WebM, Ogg, FLAC, AAC or AMR).`;
    case 'invalid_file_name': return `${it} has a name the server cannot keep. Rename the file (no slashes or control characters, a shorter name) and try again.`;
    case 'validation_failed': return `${it} could not be uploaded: the server found something wrong in what the page sent. Try again; if it keeps failing, choose the file again.`;
    case 'not_found': return `${it} is no longer on the server (deleted from another device?). The list is up to date now.`;
    case 'conflict': return `${it} changed on the server meanwhile. The list is up to date now; try again.`;
    case 'account_deleting': return 'This account is being deleted; nothing can be changed in it.';
    case 'unauthorized': case 'invalid_id_token': return `Your sign-in has expired. Sign in again${name ? `; ${it} is kept and uploads afterwards` : ''}.`;
    case 'rate_limited': return `Too many requests at once. ${name ? `${it} is tried again in a moment.` : 'Wait a moment and try again.'}`;
    case 'cursor_expired': return 'The list was out of date for too long to catch up; it is read afresh now.';
    case 'invalid_cursor': return 'The list could not be followed from where it was; it is read afresh now.';
    case 'storage_refused': return `Storage refused ${name ? it : 'the upload'}. Try again; if it keeps failing, choose the file again.`;
    default:
      if (status >= 500 || code === 'service_unavailable' || code === 'dependency_timeout' || code === 'internal_error') {
        return `The server could not handle ${name ? it : 'this'} just now. Try again in a moment.`;
      }
      if (code || status) return `${it} could not be handled (${code || `error ${status}`}). Try again.`;
      return `${it} could not be handled. Try again.`;
  }
}

// trashNotice is what the delete dialog promises, from the server's trash
// retention in days (config.json); an unknown retention promises no number.
export function trashNotice(days) {
  if (Number.isInteger(days) && days > 0) {
    return `It goes to the trash, where you can restore it for ${days} ${days === 1 ? 'day' : 'days'}; then it is deleted for good.`;
  }
  return 'It goes to the trash, where you can restore it until it is deleted for good.';
}

// deviceName is what the sessions list calls this browser: "Chrome on
// Android". The user agent is only a hint, and the list shows it as such.
export function deviceName(ua) {
  const s = String(ua || '');
  const browser = /Edg\//.test(s) ? 'Edge'
    : /SamsungBrowser\//.test(s) ? 'Samsung Internet'
      : /Firefox\/|FxiOS\//.test(s) ? 'Firefox'
        : /Chrome\/|Chromium\/|CriOS\//.test(s) ? 'Chrome'
          : /Safari\//.test(s) ? 'Safari' : 'Web browser';
  const os = /iPhone/.test(s) ? 'iPhone'
    : /iPad/.test(s) ? 'iPad'
      : /Android/.test(s) ? 'Android'
        : /Mac OS X|Macintosh/.test(s) ? 'macOS'
          : /Windows/.test(s) ? 'Windows'
            : /CrOS/.test(s) ? 'ChromeOS'
              : /Linux/.test(s) ? 'Linux' : '';
  return os ? `${browser} on ${os}` : browser;
}

// TRANSCRIPT_REASONS say why a recording has no transcript, for the
// API's reason codes; the server's detail adds the specifics.
const TRANSCRIPT_REASONS = {
  transcription_off: 'transcription is switched off for your account',
  monthly_allowance_used: 'this month’s transcription minutes are used up',
  language_unsupported: 'the server cannot transcribe this language',
  engine_failed: 'the transcription engine failed',
  duration_unknown: 'the recording’s length is unknown',
  too_long: 'the recording is longer than the engine takes',
};

// transcriptMessage says in words where a recording's transcript is, from
// a transcript (or a recording's transcript_status and nothing else).
export function transcriptMessage(t) {
  const why = TRANSCRIPT_REASONS[t?.reason];
  const because = why ? `: ${why}` : '';
  switch (t?.status) {
    case 'pending': return 'Transcribing… the words appear here when it is done.';
    case 'completed': return t.segments?.length === 0 || t.text === '' ? 'Transcribed: no words were heard.' : 'Transcript. Tap a line to play from there.';
    case 'failed': return `No transcript${because || ': the transcription failed'}.`;
    case 'skipped': return `Not transcribed${because}.`;
    case 'unsupported': return `Not transcribed${because || ': the server cannot transcribe this language'}.`;
    default: return 'No transcript: this server does not transcribe recordings.';
  }
}

// minutesLine is the month's transcription use from /v1/me's quota, or ''
// when the server counts none.
export function minutesLine(quota) {
  const limit = quota?.transcription_minutes_limit;
  if (typeof limit !== 'number') return '';
  const used = quota.transcription_minutes_used ?? 0;
  return `${used} of ${limit} transcription ${limit === 1 ? 'minute' : 'minutes'} used this month.`;
}

// shareExpiry is a share's end in words for its row.
export function shareExpiry(share) {
  const at = Date.parse(share?.expires_at ?? '');
  return Number.isFinite(at) ? `plays until ${localMinute(new Date(at))}` : '';
}

// applyChanges applies change-feed entries, oldest first, to the list the
// recordings view shows (every status but the trash): an upsert replaces
// or adds the recording, or drops it once it is in the trash; a remove
// drops it. Entries the list already reflects change nothing, so a feed
// read from a cursor taken before the listing is safe to apply.
export function applyChanges(list, changes) {
  const byId = new Map(list.map((r) => [r.id, r]));
  for (const c of changes) {
    if (c.op === 'upsert' && c.recording && c.recording.status !== 'deleted') byId.set(c.id, c.recording);
    else byId.delete(c.id);
  }
  return [...byId.values()];
}
