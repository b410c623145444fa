// Package audio identifies an audio body by its magic bytes and extracts its codec, sample
// rate, channels and duration, reading only what it needs through io.ReaderAt: the head, and
// the tail where a format keeps its index or its last timestamp there (an M4A whose moov is at
// the end, a WebM without Duration, an Ogg stream's last page). Like archive/zip over a
// ReaderAt, it is meant to sit on ranged GETs: every read is bounded, in total, by
// MaxProbeBytes, and nothing is allocated from a length field that was not checked first.
//
// The package depends on the standard library and the domain package only (for the longest
// recording accepted); the MP4 box walker, the EBML reader and the other parsers are ours and
// are fuzzed (see fuzz_test.go).
package audio

import (
	"context"
	"errors"
	"fmt"
	"io"
)

// MaxProbeBytes is the hard bound on the bytes Probe reads from one body, head and tail and
// everything in between together: 1 MiB. A format whose facts are not found within it (a
// fragmented MP4 whose last fragment lies further than the tail window, say) is
// "unreadable_audio", never a larger read.
const MaxProbeBytes = 1 << 20

// Window sizes. headWindow is read first for every body; tailWindow is read from the end by
// formats that need it. Ogg pages are at most 65,307 bytes, so the last page always starts
// inside a 64 KiB+ tail.
const (
	// maxReads bounds the ReadAt calls (ranged GETs) per probe, as MaxProbeBytes bounds the
	// bytes: a body of many tiny chunks or boxes cannot turn into thousands of requests.
	maxReads = 32
	// readAhead is the least a read that misses the cached windows fetches, so that walking
	// small neighbouring headers costs one call, not one each.
	readAhead = 4 << 10

	headWindow  = 64 << 10
	tailWindow  = 72 << 10
	countWindow = 256 << 10 // ADTS and AMR frames are counted within this much, then estimated
)

// Info is what Probe found.
type Info struct {
	Container    string // "wav", "mp4", "webm", "ogg", "flac", "mp3", "adts", "amr"
	Codec        string // "pcm_s16le", "aac", "opus", "vorbis", "flac", "mp3", "amr_nb", "amr_wb", ...
	DurationMS   int64
	SampleRateHz int
	Channels     int
}

// Reasons carried by *Error.
const (
	ReasonNotAudio   = "not_audio"        // no known audio magic
	ReasonUnreadable = "unreadable_audio" // a known container, but corrupt, truncated or unparseable
)

// Error is Probe's verdict on the body: not audio, or audio it cannot read. Every other error
// Probe returns is NOT an *Error: the context's (context.Canceled, DeadlineExceeded) and the
// ReaderAt's (a failed or short ranged GET), wrapped with %w. Those say nothing about the
// body; the caller should retry later rather than reject the recording.
type Error struct {
	Reason string // ReasonNotAudio or ReasonUnreadable
	Detail string
}

func (e *Error) Error() string {
	if e.Detail == "" {
		return "audio: " + e.Reason
	}
	return "audio: " + e.Reason + ": " + e.Detail
}

func notAudio(format string, args ...any) error {
	return &Error{Reason: ReasonNotAudio, Detail: fmt.Sprintf(format, args...)}
}

func unreadable(format string, args ...any) error {
	return &Error{Reason: ReasonUnreadable, Detail: fmt.Sprintf(format, args...)}
}

// errBudget is returned by src.read when a read would pass MaxProbeBytes.
var errBudget = errors.New("read bound reached")

// src is a ReaderAt with a byte budget and a few cached windows, so that parsers can ask for
// the same bytes twice (a box header, then its body) without paying for them twice.
type src struct {
	ctx     context.Context
	r       io.ReaderAt
	size    int64
	used    int64 // bytes read from r
	calls   int   // ReadAt calls
	windows []window
}

type window struct {
	off int64
	b   []byte
}

// read returns the n bytes at off, or fewer when the body ends first (never an error for a
// short read at the end: callers check the length). It fails when the budget cannot pay.
func (s *src) read(off int64, n int) ([]byte, error) {
	if off < 0 || n < 0 {
		return nil, unreadable("negative offset")
	}
	if off >= s.size || n == 0 {
		return nil, nil
	}
	if int64(n) > s.size-off {
		n = int(s.size - off)
	}
	for _, w := range s.windows {
		if off >= w.off && off+int64(n) <= w.off+int64(len(w.b)) {
			return w.b[off-w.off : off-w.off+int64(n)], nil
		}
	}
	if int64(n) > MaxProbeBytes-s.used || s.calls >= maxReads {
		return nil, errBudget
	}
	if err := s.ctx.Err(); err != nil {
		return nil, ioError{err}
	}
	want := n
	if want < readAhead {
		want = int(min(int64(readAhead), s.size-off, MaxProbeBytes-s.used))
	}
	b := make([]byte, want) // want <= remaining budget: bounded whatever the body claims
	s.calls++
	m, err := s.r.ReadAt(b, off)
	s.used += int64(want)
	if m < want {
		if err == nil {
			err = io.ErrUnexpectedEOF
		}
		return nil, ioError{fmt.Errorf("audio: read %d bytes at %d of %d: %w", want, off, s.size, err)}
	}
	s.windows = append(s.windows, window{off, b}) // at most maxReads of them
	return b[:n], nil
}

// readFull is read, but a short result is an error (a truncated structure).
func (s *src) readFull(off int64, n int, what string) ([]byte, error) {
	b, err := s.read(off, n)
	if err != nil {
		return nil, err
	}
	if len(b) < n {
		return nil, unreadable("%s truncated", what)
	}
	return b, nil
}

// tail reads (and caches) up to n bytes at the end of the body, not below floor.
func (s *src) tail(n int, floor int64) (int64, []byte, error) {
	off := s.size - int64(n)
	if off < floor {
		off = floor
	}
	if off >= s.size {
		return off, nil, nil
	}
	b, err := s.read(off, int(s.size-off))
	return off, b, err
}

// Probe identifies the container by magic bytes and extracts facts, reading only what it
// needs from r (size bytes long) through ReadAt: the head, and the tail where the format
// keeps its index/duration there. It never reads more than MaxProbeBytes in total, and never
// allocates from an unchecked length field.
func Probe(ctx context.Context, r io.ReaderAt, size int64) (Info, error) {
	s := &src{ctx: ctx, r: r, size: size}
	info, err := probe(s)
	return info, wrapErr(err)
}

// ioError marks an error of the ReaderAt or the context on its way out of the parsers.
type ioError struct{ err error }

func (e ioError) Error() string { return e.err.Error() }
func (e ioError) Unwrap() error { return e.err }

func wrapErr(err error) error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		return err
	}
	var ioe ioError
	if errors.As(err, &ioe) {
		return ioe.err
	}
	if errors.Is(err, errBudget) {
		return unreadable("facts not found within %d bytes and %d reads", MaxProbeBytes, maxReads)
	}
	return &Error{Reason: ReasonUnreadable, Detail: err.Error()}
}

// kind is a detected container.
type kind int

const (
	kNone kind = iota
	kWAV
	kMP4
	kEBML
	kOgg
	kFLAC
	kMP3
	kADTS
	kAMR
)

func probe(s *src) (Info, error) {
	if s.size <= 0 {
		return Info{}, notAudio("empty body")
	}
	head, err := s.read(0, headWindow)
	if err != nil {
		return Info{}, err
	}
	k, off, err := sniff(s, head)
	if err != nil {
		return Info{}, err
	}
	var info Info
	switch k {
	case kWAV:
		info, err = probeWAV(s)
	case kMP4:
		info, err = probeMP4(s)
	case kEBML:
		info, err = probeEBML(s)
	case kOgg:
		info, err = probeOgg(s)
	case kFLAC:
		info, err = probeFLAC(s, off)
	case kMP3:
		info, err = probeMP3(s, off)
	case kADTS:
		info, err = probeADTS(s, off)
	case kAMR:
		info, err = probeAMR(s)
	default:
		return Info{}, notAudio("no known audio signature")
	}
	if err != nil {
		return Info{}, err
	}
	if info.DurationMS < 0 || info.SampleRateHz < 0 || info.Channels < 0 {
		return Info{}, unreadable("implausible values")
	}
	if err := checkDuration(info, s.size); err != nil {
		return Info{}, err
	}
	return info, nil
}

// sniff finds the container from the head; for MP3, ADTS and FLAC it also returns the offset
// where the stream starts, after any ID3v2 tags.
func sniff(s *src, head []byte) (kind, int64, error) {
	switch {
	case len(head) >= 12 && (string(head[:4]) == "RIFF" || string(head[:4]) == "RF64" || string(head[:4]) == "BW64") && string(head[8:12]) == "WAVE":
		return kWAV, 0, nil
	case len(head) >= 8 && isMP4Head(head):
		return kMP4, 0, nil
	case len(head) >= 4 && head[0] == 0x1A && head[1] == 0x45 && head[2] == 0xDF && head[3] == 0xA3:
		return kEBML, 0, nil
	case len(head) >= 4 && string(head[:4]) == "OggS":
		return kOgg, 0, nil
	case len(head) >= 4 && string(head[:4]) == "fLaC":
		return kFLAC, 0, nil
	case len(head) >= 6 && string(head[:6]) == "#!AMR\n", len(head) >= 9 && string(head[:9]) == "#!AMR-WB\n":
		return kAMR, 0, nil
	}
	// ID3v2 tags may precede MP3, ADTS and (rarely) FLAC; skip them (there may be several).
	var off int64
	for i := 0; i < 4; i++ {
		b, err := s.read(off, 10)
		if err != nil {
			return kNone, 0, err
		}
		n, ok := id3Size(b)
		if !ok {
			break
		}
		off += n
	}
	if off >= s.size && off > 0 {
		return kNone, 0, unreadable("ID3 tag without audio")
	}
	b, err := s.read(off, 4)
	if err != nil {
		return kNone, 0, err
	}
	if len(b) == 4 && string(b) == "fLaC" {
		return kFLAC, off, nil
	}
	if k, at, err := findSync(s, off); err != nil || k != kNone {
		return k, at, err
	}
	if off > 0 {
		return kNone, 0, unreadable("ID3 tag not followed by MPEG audio")
	}
	return kNone, 0, nil
}

// id3Size returns the total size of the ID3v2 tag that b (10 bytes or more) starts.
func id3Size(b []byte) (int64, bool) {
	if len(b) < 10 || string(b[:3]) != "ID3" || b[3] == 0xFF || b[4] == 0xFF {
		return 0, false
	}
	if b[6]|b[7]|b[8]|b[9] >= 0x80 {
		return 0, false
	}
	n := int64(b[6])<<21 | int64(b[7])<<14 | int64(b[8])<<7 | int64(b[9])
	n += 10
	if b[5]&0x10 != 0 {
		n += 10 // footer
	}
	return n, true
}

// findSync looks for two consecutive valid MPEG audio (MP3) or ADTS frames starting within
// the first 4 KiB after off: a single sync word in arbitrary bytes is too weak a signature.
func findSync(s *src, off int64) (kind, int64, error) {
	b, err := s.read(off, 4096+8)
	if err != nil {
		return kNone, 0, err
	}
	for i := 0; i+7 <= len(b) && i < 4096; i++ {
		if b[i] != 0xFF || b[i+1]&0xE0 != 0xE0 {
			continue
		}
		at := off + int64(i)
		if h, ok := parseADTS(b[i:]); ok {
			if ok2, err := confirmNext(s, at, h.frameLen, func(nb []byte) bool { _, ok := parseADTS(nb); return ok }); err != nil {
				return kNone, 0, err
			} else if ok2 {
				return kADTS, at, nil
			}
			continue
		}
		if h, ok := parseMPA(b[i:]); ok {
			if ok2, err := confirmNext(s, at, h.frameLen, func(nb []byte) bool { _, ok := parseMPA(nb); return ok }); err != nil {
				return kNone, 0, err
			} else if ok2 {
				return kMP3, at, nil
			}
		}
	}
	return kNone, 0, nil
}

// confirmNext checks that another valid frame follows the one at off, or that the frame
// ends the body exactly (a one-frame file).
func confirmNext(s *src, off int64, n int, valid func([]byte) bool) (bool, error) {
	next := off + int64(n)
	if next == s.size {
		return true, nil
	}
	nb, err := s.read(next, 8)
	if err != nil {
		return false, err
	}
	return len(nb) >= 7 && valid(nb), nil
}

// be16 etc. read big- and little-endian integers from slices whose length was checked.
func be16(b []byte) uint16 { return uint16(b[0])<<8 | uint16(b[1]) }
func be24(b []byte) uint32 { return uint32(b[0])<<16 | uint32(b[1])<<8 | uint32(b[2]) }
func be32(b []byte) uint32 {
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}
func be64(b []byte) uint64 { return uint64(be32(b))<<32 | uint64(be32(b[4:])) }
func le16(b []byte) uint16 { return uint16(b[0]) | uint16(b[1])<<8 }
func le32(b []byte) uint32 {
	return uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24
}
func le64(b []byte) uint64 { return uint64(le32(b)) | uint64(le32(b[4:]))<<32 }

// durMS converts units counted at rate per second to milliseconds, rounding to nearest,
// without overflowing for any uint64 count.
func durMS(units uint64, rate uint64) int64 {
	if rate == 0 {
		return 0
	}
	whole := units / rate
	rem := units % rate
	if whole > (1<<63-1)/1000-1 {
		return -1 // caught as implausible
	}
	return int64(whole*1000 + (rem*1000+rate/2)/rate)
}
