// Unit tests of web/format.js, run by node's test runner (web/format_test.go
// runs them with TZ=Asia/Seoul, so local time is not UTC).
import assert from 'node:assert/strict';
import test from 'node:test';

import {
  applyChanges, clock, deleteMessage, deviceName, duration, localStamp, minutesLine, percent, problemMessage, recordedAt, rejectMessage,
  shareExpiry, sortRecordings, transcriptMessage, trashNotice,
} from '../format.js';

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

test('a stopped recording shows its length rounded, the running clock whole seconds gone by', () => {
  // 3.9 s is 0:04 once stopped (as in the list), 0:03 while it runs.
  assert.equal(duration(3900), '0:04');
  assert.equal(clock(3900), '0:03');
  assert.equal(clock(59_999), '0:59');
  assert.equal(clock(3_600_000), '1:00:00');
});

test('percent reaches 100 only when everything is sent', () => {
  assert.equal(percent(0, 100), 0);
  assert.equal(percent(42.7, 100), 42);
  assert.equal(percent(99.99, 100), 99);
  assert.equal(percent(100, 100), 100);
  assert.equal(percent(5, 0), 0);
});

test('problemMessage names the file and never an API field', () => {
  const codes = ['offline', 'empty', 'quota_exceeded', 'too_large', 'unsupported_media_type', 'invalid_file_name',
    'validation_failed', 'not_found', 'conflict', 'rate_limited', 'storage_refused', 'service_unavailable',
    'internal_error', 'unauthorized', 'something_new'];
  for (const code of codes) {
    const text = problemMessage('회의.m4a', code, code === 'internal_error' ? 500 : 400);
    assert.match(text, /“회의\.m4a”/, code);
    assert.doesNotMatch(text, /size_bytes|file_name|content_type|sha256/, code);
  }
  assert.match(problemMessage('a.wav', 'quota_exceeded', 403), /full.*trash/);
  assert.match(problemMessage('a.wav', 'offline', 0), /uploads when the network returns/);
});

test('rejectMessage says why in words, with the server detail', () => {
  assert.equal(rejectMessage({ reject_reason: 'not_audio', reject_detail: 'The bytes are a PNG image.' }),
    'Not stored: it is not an audio file. The bytes are a PNG image.');
  assert.equal(rejectMessage({ reject_reason: 'new_reason' }), 'Not stored: the server could not accept it.');
});

test('sortRecordings orders by date, name (numbers in order) and duration, stably', () => {
  const recs = [
    { id: 'A', file_name: 'memo 10.m4a', created_at: '2026-01-01T00:00:00Z', duration_ms: 5000 },
    { id: 'B', file_name: 'Memo 9.m4a', created_at: '2026-01-03T00:00:00Z' },
    { id: 'C', file_name: 'alpha.wav', recorded_at: '2025-06-01T00:00:00Z', created_at: '2026-01-04T00:00:00Z', duration_ms: 9000 },
  ];
  const ids = (key) => sortRecordings(recs, key).map((r) => r.id).join('');
  assert.equal(ids('date'), 'BAC'); // C was recorded long before it was uploaded
  assert.equal(ids('name'), 'CBA');
  assert.equal(ids('duration'), 'CAB'); // no duration last
  assert.equal(ids('unknown'), 'BAC');
});

test('trashNotice promises the retention only when it is known', () => {
  assert.match(trashNotice(30), /restore it for 30 days/);
  assert.match(trashNotice(1), /for 1 day;/);
  assert.doesNotMatch(trashNotice(undefined), /\d/);
});

test('problemMessage for a failure without a code or status says no "undefined"', () => {
  assert.equal(problemMessage('a.wav', undefined, undefined), '“a.wav” could not be handled. Try again.');
});

test('deviceName names the browser and its system from the user agent', () => {
  const cases = [
    ['Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36', 'Chrome on Android'],
    ['Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1', 'Safari on iPhone'],
    ['Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/126.0 Mobile/15E148 Safari/604.1', 'Chrome on iPhone'],
    ['Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15', 'Safari on macOS'],
    ['Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36 Edg/126.0.0.0', 'Edge on Windows'],
    ['Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0', 'Firefox on Linux'],
    ['Mozilla/5.0 (Linux; Android 14; SM-S921N) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/25.0 Chrome/121.0.0.0 Mobile Safari/537.36', 'Samsung Internet on Android'],
    ['', 'Web browser'], [undefined, 'Web browser'],
  ];
  for (const [ua, want] of cases) {
    assert.equal(deviceName(ua), want, ua);
    assert.ok(deviceName(ua).length <= 64, 'the API takes at most 64 characters');
  }
});

test('transcriptMessage says where a transcript is in words', () => {
  assert.match(transcriptMessage({ status: 'pending' }), /^Transcribing/);
  assert.match(transcriptMessage({ status: 'completed', text: 'hello', segments: [{ start_ms: 0, end_ms: 1, text: 'hello' }] }), /Tap a line/);
  assert.equal(transcriptMessage({ status: 'completed', text: '', segments: [] }), 'Transcribed: no words were heard.');
  assert.equal(transcriptMessage({ status: 'skipped', reason: 'monthly_allowance_used' }), 'Not transcribed: this month’s transcription minutes are used up.');
  assert.equal(transcriptMessage({ status: 'skipped', reason: 'transcription_off' }), 'Not transcribed: transcription is switched off for your account.');
  assert.equal(transcriptMessage({ status: 'unsupported' }), 'Not transcribed: the server cannot transcribe this language.');
  assert.equal(transcriptMessage({ status: 'failed', reason: 'engine_failed' }), 'No transcript: the transcription engine failed.');
  assert.equal(transcriptMessage({ status: 'failed' }), 'No transcript: the transcription failed.');
  assert.match(transcriptMessage({}), /does not transcribe/);
  assert.match(transcriptMessage(undefined), /does not transcribe/);
  for (const status of ['pending', 'completed', 'failed', 'skipped', 'unsupported']) {
    assert.ok(!transcriptMessage({ status, reason: 'too_long' }).includes('_'), `no code shown for ${status}`);
  }
});

test('minutesLine shows transcription use only when the server counts it', () => {
  assert.equal(minutesLine({ transcription_minutes_limit: 300, transcription_minutes_used: 12 }), '12 of 300 transcription minutes used this month.');
  assert.equal(minutesLine({ transcription_minutes_limit: 1 }), '0 of 1 transcription minute used this month.');
  assert.equal(minutesLine({ bytes_limit: 1 }), '');
  assert.equal(minutesLine(undefined), '');
});

test('shareExpiry says until when a link plays, in local time', () => {
  assert.equal(shareExpiry({ expires_at: '2026-01-07T15:30:00Z' }), 'plays until 2026-01-08 00:30');
  assert.equal(shareExpiry({}), '');
});

test('applyChanges follows the feed: upserts replace or add, the trash and removes drop', () => {
  const a = { id: 'A', status: 'pending', file_name: 'a.wav' };
  const b = { id: 'B', status: 'available', file_name: 'b.wav' };
  const list = [a, b];
  const got = applyChanges(list, [
    { seq: 1, op: 'upsert', id: 'A', recording: { ...a, status: 'available', duration_ms: 1000 } },
    { seq: 2, op: 'upsert', id: 'C', recording: { id: 'C', status: 'pending', file_name: 'c.wav' } },
    { seq: 3, op: 'upsert', id: 'B', recording: { ...b, status: 'deleted' } },
    { seq: 4, op: 'upsert', id: 'D', recording: { id: 'D', status: 'pending', file_name: 'd.wav' } },
    { seq: 5, op: 'remove', id: 'D' },
  ]);
  assert.deepEqual(got.map((r) => [r.id, r.status]).sort(), [['A', 'available'], ['C', 'pending']]);
  assert.equal(list[0].status, 'pending', 'the list given is not changed');
  // A restore brings a trashed recording back.
  assert.deepEqual(applyChanges(got, [{ seq: 6, op: 'upsert', id: 'B', recording: b }]).map((r) => r.id).sort(), ['A', 'B', 'C']);
  // Entries already reflected change nothing.
  assert.deepEqual(applyChanges(got, [{ seq: 1, op: 'upsert', id: 'A', recording: got.find((r) => r.id === 'A') }]), got);
});

test('problemMessage has words for the change feed’s codes', () => {
  for (const code of ['cursor_expired', 'invalid_cursor']) {
    const m = problemMessage('', code, code === 'cursor_expired' ? 410 : 400);
    assert.ok(!m.includes(code) && m.includes('afresh'), `${code}: ${m}`);
  }
});
