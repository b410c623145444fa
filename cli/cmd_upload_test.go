package cli

import (
	"testing"
	"time"
)

// A file's modification time is declared as recorded_at only inside the
// range the API takes; outside it, nothing is sent rather than a made-up date.
func TestRecordedAtStaysInTheAPIRange(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	seoul := time.FixedZone("KST", 9*3600)
	for _, tc := range []struct {
		mtime time.Time
		ok    bool
	}{
		{time.Date(2021, 3, 4, 5, 6, 7, 890, seoul), true},
		{time.Unix(0, 0), true},
		{time.Unix(-1, 0), false},
		{time.Time{}, false},
		{now.Add(23 * time.Hour), true},
		{now.Add(25 * time.Hour), false},
		{time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC), false},
		{time.Date(20000, 1, 1, 0, 0, 0, 0, time.UTC), false},
	} {
		got, ok := recordedAt(tc.mtime, now)
		if ok != tc.ok || (ok && (!got.Equal(tc.mtime) || got.Location() != time.UTC)) {
			t.Errorf("recordedAt(%s) = %s, %v; want %v", tc.mtime, got, ok, tc.ok)
		}
	}
}
