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
