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
