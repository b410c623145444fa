package audio

import (
	"context"
	"encoding/binary"
	"errors"
	"testing"
)

// A duration read from a header field is a claim; the body's size and the longest recording
// accepted bound what it may claim.

func wantUnreadable(t *testing.T, info Info, err error) {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) || e.Reason != ReasonUnreadable {
		t.Fatalf("got %+v, %v; want unreadable_audio", info, err)
	}
}

// The bodies of the reports, from testdata/make-fixtures.sh: a 42-byte FLAC claiming 2^36-1
// samples at 1 Hz (2,177 years) and an 834-byte MP3 whose Xing frame count is 2^32-1
// (3.6 years).
func TestImpossibleDurationsAreUnreadable(t *testing.T) {
	for _, name := range []string{"flac_impossible_duration.flac", "mp3_impossible_duration.mp3"} {
		t.Run(name, func(t *testing.T) {
			info, err, _ := probeBytes(t, readFixture(t, name))
			wantUnreadable(t, info, err)
		})
	}
}

// flacStreamInfo is a FLAC body that is its STREAMINFO alone (mono, 16 bit, blocks of 4096).
func flacStreamInfo(rate uint32, samples uint64) []byte {
	b := []byte("fLaC\x80\x00\x00\x22")
	si := make([]byte, 34)
	binary.BigEndian.PutUint16(si, 4096)
	binary.BigEndian.PutUint16(si[2:], 4096)
	binary.BigEndian.PutUint64(si[10:], uint64(rate)<<44|15<<36|samples&(1<<36-1))
	return append(b, si...)
}

// Claims under the longest recording that the bytes still cannot hold: each is caught by the
// size check alone.
func TestDurationLongerThanTheBytesHold(t *testing.T) {
	mp3 := append([]byte(nil), readFixture(t, "mp3_impossible_duration.mp3")...)
	binary.BigEndian.PutUint32(mp3[49:], 10000) // 10,000 frames of 576 samples: 261 s in 834 bytes
	for _, tc := range []struct {
		name string
		body []byte
	}{
		{"FLAC: an hour at 8 kHz in 42 bytes", flacStreamInfo(8000, 8000*3600)},
		{"MP3: 261 s in 834 bytes", mp3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			info, err, _ := probeBytes(t, tc.body)
			wantUnreadable(t, info, err)
		})
	}
	// What the bytes can hold passes: a second of FLAC in 42 bytes is under the floor of
	// about 11 bit/s at 8 kHz for 31 s.
	if info, err, _ := probeBytes(t, flacStreamInfo(8000, 8000)); err != nil || info.DurationMS != 1000 {
		t.Fatalf("one second: got %+v, %v", info, err)
	}
}

// A WAV left with data size 0 by a streaming writer is measured by its bytes: in a body that
// holds exactly 31 days of 8 kHz 8-bit mono it is accepted, with one second more it is not.
// The body is virtual (zeros past the header): only the header is read.
func TestDurationLongerThanTheLongestRecording(t *testing.T) {
	const days31 = 31 * 24 * 3600 // seconds; the bound is pinned here by its number
	hdr := make([]byte, 44)
	copy(hdr, "RIFF\xff\xff\xff\xffWAVEfmt ")
	binary.LittleEndian.PutUint32(hdr[16:], 16)
	binary.LittleEndian.PutUint16(hdr[20:], 1)    // PCM
	binary.LittleEndian.PutUint16(hdr[22:], 1)    // mono
	binary.LittleEndian.PutUint32(hdr[24:], 8000) // rate
	binary.LittleEndian.PutUint32(hdr[28:], 8000) // byte rate
	binary.LittleEndian.PutUint16(hdr[32:], 1)    // block align
	binary.LittleEndian.PutUint16(hdr[34:], 8)    // bits
	copy(hdr[36:], "data")                        // size 0: never finalised
	for _, tc := range []struct {
		seconds int64
		ok      bool
	}{{days31, true}, {days31 + 1, false}} {
		r := &paddedReader{data: hdr, size: 44 + tc.seconds*8000}
		info, err := Probe(context.Background(), r, r.size)
		if tc.ok {
			if err != nil || info.DurationMS != tc.seconds*1000 {
				t.Errorf("%d s: got %+v, %v", tc.seconds, info, err)
			}
			continue
		}
		wantUnreadable(t, info, err)
	}
}

// The floors are at or below what real encoders write: every fixture (ffmpeg's encoders at
// 16 to 32 kbit/s, PCM exactly at its own) is above its own.
func TestDurationFloorsAreBelowTheFixtures(t *testing.T) {
	for _, f := range fixtures {
		b := readFixture(t, f.file)
		info, err, _ := probeBytes(t, b)
		if err != nil {
			t.Fatalf("%s: %v", f.file, err)
		}
		real := float64(len(b)) * 8 * 1000 / float64(info.DurationMS)
		if fl := floorBitrate(info); fl > real {
			t.Errorf("%s: floor %.0f bit/s is above the fixture's %.0f bit/s", f.file, fl, real)
		}
	}
}
