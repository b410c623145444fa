package recording_test

import (
	"testing"

	"github.com/voicerec/backend/internal/recording"
)

func TestPartSizeAndLengths(t *testing.T) {
	const mib = 1 << 20
	for _, tc := range []struct {
		name       string
		size, base int64
		wantSize   int64
		wantCount  int
		wantLast   int64
	}{
		{"exactly one part", 16 * mib, 16 * mib, 16 * mib, 1, 16 * mib},
		{"remainder last", 33*mib + 5, 16 * mib, 16 * mib, 3, mib + 5},
		{"exact multiple", 48 * mib, 16 * mib, 16 * mib, 3, 16 * mib},
		{"10,000 parts fit", 10000 * 5 * mib, 5 * mib, 5 * mib, 10000, 5 * mib},
		{"grown in whole MiB past 10,000 parts", 10000*5*mib + 1, 5 * mib, 6 * mib, 8334, 10000*5*mib + 1 - 8333*6*mib},
		{"grown to exactly a whole MiB", 10000 * 8 * mib, 5 * mib, 8 * mib, 10000, 8 * mib},
		{"a base that is not whole MiB, needed exactly", 10000 * 5_000_000, 5_000_000, 5_000_000, 10000, 5_000_000},
		{"5 TiB", 5 << 40, 16 * mib, 525 * mib, 9987, (5 << 40) - 9986*525*mib},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ps := recording.PartSizeFor(tc.size, tc.base, 10000)
			rec := recording.Recording{SizeBytes: tc.size, PartSize: ps}
			if ps != tc.wantSize || rec.PartCount() != tc.wantCount || rec.PartLength(tc.wantCount) != tc.wantLast {
				t.Fatalf("part size %d, %d parts, last %d; want %d, %d, %d", ps, rec.PartCount(), rec.PartLength(rec.PartCount()),
					tc.wantSize, tc.wantCount, tc.wantLast)
			}
			if rec.PartCount() > 10000 || rec.PartLength(0) != 0 || rec.PartLength(tc.wantCount+1) != 0 {
				t.Fatal("out of bounds")
			}
			if tc.wantCount > 1 && rec.PartLength(1) != ps {
				t.Fatalf("first part %d", rec.PartLength(1))
			}
		})
	}
}

// A recording uploaded in one PUT has no part size: no parts, and no part
// has a length (never a division by zero).
func TestSinglePartRecordingHasNoParts(t *testing.T) {
	rec := recording.Recording{SizeBytes: 1234}
	if rec.PartCount() != 0 || rec.PartLength(1) != 0 || rec.Multipart() {
		t.Fatalf("single PUT: %d parts, part 1 of %d bytes", rec.PartCount(), rec.PartLength(1))
	}
}
