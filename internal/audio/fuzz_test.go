package audio

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// Every parser has a fuzz target seeded from its fixtures, and FuzzProbe runs the whole
// sniff-and-parse path over all of them. The body is the fuzzer's bytes followed by pad*4096
// virtual zero bytes, so that inputs can claim (and sit in) bodies of many GiB. Each target
// fails on a panic, on more than MaxProbeBytes read or maxReads calls, on an error that is not an *Error and on
// implausible values; FuzzProbe also bounds the bytes allocated per call.

// paddedReader serves data then zeros up to size, counting what is read.
type paddedReader struct {
	data  []byte
	size  int64
	n     int64
	calls int
}

func (p *paddedReader) ReadAt(b []byte, off int64) (int, error) {
	p.n += int64(len(b))
	p.calls++
	if off < 0 || off >= p.size {
		return 0, errors.New("read past the end")
	}
	n := 0
	if off < int64(len(p.data)) {
		n = copy(b, p.data[off:])
	}
	if rest := min(int64(len(b)), p.size-off); int64(n) < rest {
		clear(b[n:rest])
		n = int(rest)
	}
	if n < len(b) {
		return n, errors.New("short read at the end")
	}
	return n, nil
}

func fuzzSeeds(f *testing.F, patterns ...string) {
	for _, p := range patterns {
		files, _ := filepath.Glob(filepath.Join("testdata", p))
		for _, name := range files {
			if st, err := os.Stat(name); err != nil || st.IsDir() {
				continue
			}
			b := readFixture(f, filepath.Base(name))
			f.Add(b, uint32(0))
			f.Add(b, uint32(1<<18)) // the same head in a 1 GiB body
			if len(b) > 64 {
				f.Add(b[:len(b)/2], uint32(0))
			}
		}
	}
}

func checkResult(t *testing.T, r *paddedReader, info Info, err error) {
	t.Helper()
	if r.n > MaxProbeBytes || r.calls > maxReads {
		t.Fatalf("read %d bytes in %d calls, over MaxProbeBytes or maxReads", r.n, r.calls)
	}
	if err != nil {
		var e *Error
		if !errors.As(err, &e) || (e.Reason != ReasonNotAudio && e.Reason != ReasonUnreadable) {
			t.Fatalf("error %v (%T) is not a *Error with a known reason", err, err)
		}
		return
	}
	if info.DurationMS < 0 || info.SampleRateHz < 0 || info.Channels < 0 || info.Container == "" || info.Codec == "" {
		t.Fatalf("implausible %+v", info)
	}
}

func fuzzParser(f *testing.F, parse func(*src) (Info, error), patterns ...string) {
	fuzzSeeds(f, patterns...)
	f.Fuzz(func(t *testing.T, data []byte, pad uint32) {
		r := &paddedReader{data: data, size: int64(len(data)) + int64(pad)*4096}
		s := &src{ctx: context.Background(), r: r, size: r.size}
		info, err := parse(s)
		checkResult(t, r, info, wrapErr(err))
	})
}

func FuzzProbe(f *testing.F) {
	fuzzSeeds(f, "*")
	f.Add(amrBody(false, 20), uint32(0))
	f.Add(amrBody(true, 20), uint32(1))
	f.Fuzz(func(t *testing.T, data []byte, pad uint32) {
		r := &paddedReader{data: data, size: int64(len(data)) + int64(pad)*4096}
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		info, err := Probe(context.Background(), r, r.size)
		runtime.ReadMemStats(&after)
		checkResult(t, r, info, err)
		// Allocation is bounded by the read bound plus small bookkeeping, whatever the input
		// claims.
		if a := after.TotalAlloc - before.TotalAlloc; a > 2*MaxProbeBytes {
			t.Fatalf("allocated %d bytes", a)
		}
	})
}

func FuzzWAV(f *testing.F) { fuzzParser(f, probeWAV, "wav_*.wav", "silent.wav") }
func FuzzMP4(f *testing.F) { fuzzParser(f, probeMP4, "*.m4a", "*.mp4", "*.3gp") }
func FuzzWebM(f *testing.F) {
	fuzzParser(f, probeEBML, "*.webm")
}
func FuzzOgg(f *testing.F) { fuzzParser(f, probeOgg, "*.ogg", "*.opus") }
func FuzzFLAC(f *testing.F) {
	fuzzParser(f, func(s *src) (Info, error) { return probeFLAC(s, 0) }, "*.flac")
}
func FuzzMP3(f *testing.F) {
	fuzzParser(f, func(s *src) (Info, error) {
		// The sniffer hands probeMP3 the offset after ID3 tags; do the same.
		head, err := s.read(0, headWindow)
		if err != nil {
			return Info{}, err
		}
		k, off, err := sniff(s, head)
		if err != nil || k != kMP3 {
			return probeMP3(s, 0)
		}
		return probeMP3(s, off)
	}, "*.mp3")
}
func FuzzADTS(f *testing.F) {
	fuzzParser(f, func(s *src) (Info, error) { return probeADTS(s, 0) }, "*.aac")
}
func FuzzAMR(f *testing.F) {
	f.Add(amrBody(false, 30), uint32(0))
	f.Add(amrBody(true, 30), uint32(0))
	f.Add(amrBody(false, 30), uint32(1<<18))
	fuzzParser(f, probeAMR)
}
