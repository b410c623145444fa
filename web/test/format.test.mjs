// Unit tests of web/format.js, run by node's test runner (web/format_test.go
// runs them with TZ=Asia/Seoul, so local time is not UTC).
import assert from 'node:assert/strict';
import test from 'node:test';

import { localStamp, recordedAt } from '../format.js';

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
