// Unit tests of web/format.js, run by node's test runner (web/format_test.go
// runs them with TZ=Asia/Seoul, so local time is not UTC).
import assert from 'node:assert/strict';
import test from 'node:test';

import { deleteMessage, duration, localStamp, recordedAt } from '../format.js';

test('recordedAt declares a date only inside the API range', () => {
  const now = Date.UTC(2026, 0, 2, 3, 4, 5);
  assert.equal(recordedAt(Date.UTC(2021, 2, 4, 5, 6, 7, 890), now), '2021-03-04T05:06:07.890Z');
  assert.equal(recordedAt(0, now), '1970-01-01T00:00:00.000Z');
  assert.equal(recordedAt(now + 23 * 3600e3, now), new Date(now + 23 * 3600e3).toISOString());
  for (const bad of [-1, now + 25 * 3600e3, 8.64e15 + 1, NaN, Infinity, undefined, null, '2021-01-01']) {
    assert.equal(recordedAt(bad, now), undefined, `recordedAt(${bad})`);
  }
});

test('localStamp names a recording in local time', () => {
  assert.equal(process.env.TZ, 'Asia/Seoul', 'run with TZ=Asia/Seoul');
  // 23:30 UTC on 31 December is 08:30 on 1 January in Seoul.
  assert.equal(localStamp(new Date(Date.UTC(2025, 11, 31, 23, 30, 5))), '2026-01-01 08.30.05');
});

test('duration formats any duration_ms without overflow', () => {
  const cases = [
    [undefined, ''], [null, ''],
    [0, '0:00'], [499, '0:00'], [500, '0:01'], [59_500, '1:00'], [3_723_000, '1:02:03'],
    [31 * 24 * 3600 * 1000, '744:00:00'],
    [68_719_476_735_000, '19088743:32:15'],
    // The largest int64 as JSON.parse reads it (2^63).
    [JSON.parse('9223372036854775807'), '2562047788015:12:56'],
    [-1, '?'], [NaN, '?'], [Infinity, '?'], [2 ** 64, '?'], ['3000', '?'],
  ];
  for (const [ms, want] of cases) assert.equal(duration(ms), want, `duration(${ms})`);
});

test('deleteMessage says what a delete did', () => {
  const rec = { id: '01ARZ3NDEKTSV4RRFFQ69G5FAV', purge_at: '2026-01-31T12:00:00Z' };
  // 12:00 UTC is 21:00 in Seoul.
  assert.equal(deleteMessage('a.wav', { outcome: 'trashed', recording: rec }),
    'a.wav: moved to the trash (restorable until 2026-01-31 21:00).');
  assert.equal(deleteMessage('a.wav', { outcome: 'already_in_trash', recording: rec }),
    'a.wav: already in the trash (restorable until 2026-01-31 21:00).');
  assert.equal(deleteMessage('a.wav', { outcome: 'deleted' }), 'a.wav: deleted for good.');
  assert.equal(deleteMessage('a.wav', { outcome: 'deleted' }, false), 'a.wav: deleted for good.');
  assert.equal(deleteMessage('a.wav', null), 'a.wav: moved to the trash.');
  assert.equal(deleteMessage('a.wav', null, true), 'a.wav: deleted for good.');
  assert.equal(deleteMessage('a.wav', { outcome: 'trashed', recording: { purge_at: 'soon' } }), 'a.wav: moved to the trash.');
});
