package audio

import (
	"bytes"
	"errors"
	"math"
	"strings"
)

// MP4 / M4A / 3GP (ISO base media file format). The top-level boxes are walked by their
// headers (ftyp, then mdat skipped by its size, moov wherever it is); inside moov only the
// small boxes are read (mvhd, tkhd, elst, mdhd, hdlr, stsd, mehd, trex), never the sample
// tables. Fragmented files (mvex present, mvhd duration 0) sum the audio track's trun sample
// durations while the walk stays in the head window; past it, the duration is the last
// fragment's tfdt plus its durations, found in the tail window.

func isMP4Head(h []byte) bool {
	sz := be32(h)
	switch string(h[4:8]) {
	case "ftyp":
		return sz >= 8
	case "moov", "wide": // QuickTime files without ftyp
		return sz >= 8 || sz == 1
	case "mdat", "free", "skip": // the same, when another box must follow to be sure
		return sz >= 8 && int64(sz)+8 <= int64(len(h)) && isBoxType(h[sz+4:sz+8])
	}
	return false
}

// isBoxType reports whether b starts with four printable ASCII characters.
func isBoxType(b []byte) bool {
	if len(b) < 4 {
		return false
	}
	for _, c := range b[:4] {
		if c < 0x20 || c > 0x7E {
			return false
		}
	}
	return true
}

type box struct {
	typ       string
	off       int64 // start of the header
	hdr       int64 // header length (8 or 16)
	end       int64 // off + size, clamped to the parent's end when truncated
	truncated bool  // the size field pointed past the parent's end
}

func (b box) body() int64 { return b.off + b.hdr }

// readBox reads the header of the box at off inside a parent ending at limit.
func readBox(s *src, off, limit int64) (box, error) {
	if limit-off < 8 {
		return box{}, unreadable("box header truncated")
	}
	n := 16
	if limit-off < 16 {
		n = int(limit - off)
	}
	h, err := s.readFull(off, n, "box header")
	if err != nil {
		return box{}, err
	}
	b := box{typ: string(h[4:8]), off: off, hdr: 8}
	if !isBoxType(h[4:8]) {
		return box{}, unreadable("invalid box type at %d", off)
	}
	size := uint64(be32(h))
	switch size {
	case 0: // to the end of the parent
		size = uint64(limit - off)
	case 1:
		if n < 16 {
			return box{}, unreadable("large box header truncated")
		}
		size = be64(h[8:])
		b.hdr = 16
	}
	if size < uint64(b.hdr) {
		return box{}, unreadable("box %q smaller than its header", b.typ)
	}
	if size > uint64(limit-off) {
		b.truncated = true
		size = uint64(limit - off)
	}
	b.end = off + int64(size)
	return b, nil
}

// readBody returns a box's body, at most max bytes of it.
func readBody(s *src, b box, max int) ([]byte, error) {
	n := b.end - b.body()
	if n > int64(max) {
		n = int64(max)
	}
	return s.readFull(b.body(), int(n), b.typ)
}

type mp4Track struct {
	id        uint32
	handler   string
	timescale uint32
	duration  uint64
	mediaTime int64 // first edit's media_time: the priming skipped at the start
	codec     string
	rate      int
	channels  int
	trexDur   uint32 // default sample duration from mvex/trex
}

type mp4Movie struct {
	timescale uint32
	duration  uint64
	mvex      bool
	mehd      uint64
	tracks    []*mp4Track
}

func probeMP4(s *src) (Info, error) {
	var (
		mv    *mp4Movie
		audio *mp4Track
		frag  fragSum
	)
	off := int64(0)
	done := false
	firstMoof := int64(-1)
	for i := 0; i < 100000 && off < s.size; i++ {
		if s.size-off < 8 {
			break // trailing garbage shorter than a header
		}
		if off >= headWindow && off >= s.size-tailWindow {
			// A box near the end (moov after the mdat): one tail read serves its header and
			// its small boxes (the same window lastFragment reads).
			if _, _, err := s.tail(tailWindow, 0); err != nil {
				return Info{}, err
			}
		}
		b, err := readBox(s, off, s.size)
		if err != nil {
			if mv != nil {
				break // junk after what we need
			}
			return Info{}, err
		}
		switch b.typ {
		case "moov":
			if mv != nil {
				return Info{}, unreadable("two moov boxes")
			}
			// One read for moov's small boxes (its sample tables may be far larger).
			if _, err := s.read(b.off, int(min(b.end-b.off, headWindow))); err != nil {
				return Info{}, err
			}
			mv, err = parseMoov(s, b)
			if err != nil {
				return Info{}, err
			}
			audio = mv.audio()
			if audio == nil {
				return Info{}, notAudio("MP4 without an audio track")
			}
			if !mv.mvex {
				done = true // sample tables in moov: mvhd/mdhd have the duration
			}
		case "moof":
			if mv == nil || !mv.mvex {
				break
			}
			if firstMoof < 0 {
				firstMoof = b.off
			}
			if b.end > headWindow {
				// Past the head window: jump to the last fragment instead of reading them all.
				if err := lastFragment(s, audio, &frag, firstMoof, b.off); err != nil {
					return Info{}, err
				}
				done = true
				break
			}
			body, err := readBody(s, b, 256<<10)
			if err != nil {
				return Info{}, err
			}
			frag.add(parseMoof(body, audio))
		}
		if done || b.truncated {
			break
		}
		off = b.end
	}
	if mv == nil {
		return Info{}, unreadable("no moov box")
	}
	if audio.codec == "" {
		return Info{}, unreadable("audio track without a sample description")
	}
	info := Info{Container: "mp4", Codec: audio.codec, SampleRateHz: audio.rate, Channels: audio.channels}
	if info.SampleRateHz == 0 && audio.timescale > 0 && audio.timescale <= 384000 {
		info.SampleRateHz = int(audio.timescale)
	}
	switch {
	case mv.mvex && mv.mehd > 0 && mv.timescale > 0:
		info.DurationMS = durMS(mv.mehd, uint64(mv.timescale))
	case mv.mvex:
		if audio.timescale == 0 {
			return Info{}, unreadable("mdhd timescale 0")
		}
		total := audio.duration + frag.total()
		if audio.mediaTime > 0 && uint64(audio.mediaTime) < total {
			total -= uint64(audio.mediaTime)
		}
		info.DurationMS = durMS(total, uint64(audio.timescale))
	case mv.duration > 0 && mv.duration != math.MaxUint32 && mv.duration != math.MaxUint64 && mv.timescale > 0:
		info.DurationMS = durMS(mv.duration, uint64(mv.timescale))
	case audio.timescale > 0:
		info.DurationMS = durMS(audio.duration, uint64(audio.timescale))
	default:
		return Info{}, unreadable("no duration")
	}
	return info, nil
}

func (m *mp4Movie) audio() *mp4Track {
	for _, t := range m.tracks {
		if t.handler == "soun" {
			return t
		}
	}
	return nil
}

// children walks the boxes inside parent, calling fn for each; at most max of them.
func children(s *src, parent box, max int, fn func(box) error) error {
	off := parent.body()
	for i := 0; i < max && parent.end-off >= 8; i++ {
		b, err := readBox(s, off, parent.end)
		if err != nil {
			return err
		}
		if err := fn(b); err != nil {
			return err
		}
		off = b.end
	}
	return nil
}

func parseMoov(s *src, moov box) (*mp4Movie, error) {
	mv := &mp4Movie{}
	var trex = map[uint32]uint32{}
	err := children(s, moov, 1024, func(b box) error {
		switch b.typ {
		case "mvhd":
			body, err := readBody(s, b, 32)
			if err != nil {
				return err
			}
			if len(body) < 20 {
				return unreadable("mvhd too short")
			}
			if body[0] == 1 {
				if len(body) < 32 {
					return unreadable("mvhd too short")
				}
				mv.timescale, mv.duration = be32(body[20:]), be64(body[24:])
			} else {
				mv.timescale, mv.duration = be32(body[12:]), uint64(be32(body[16:]))
			}
		case "trak":
			if len(mv.tracks) >= 64 {
				return nil
			}
			t, err := parseTrak(s, b)
			if err != nil {
				return err
			}
			mv.tracks = append(mv.tracks, t)
		case "mvex":
			mv.mvex = true
			return children(s, b, 256, func(c box) error {
				body, err := readBody(s, c, 32)
				if err != nil {
					return err
				}
				switch c.typ {
				case "mehd":
					if len(body) >= 12 && body[0] == 1 {
						mv.mehd = be64(body[4:])
					} else if len(body) >= 8 {
						mv.mehd = uint64(be32(body[4:]))
					}
				case "trex":
					if len(body) >= 16 {
						trex[be32(body[4:])] = be32(body[12:])
					}
				}
				return nil
			})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, t := range mv.tracks {
		t.trexDur = trex[t.id]
	}
	return mv, nil
}

func parseTrak(s *src, trak box) (*mp4Track, error) {
	t := &mp4Track{}
	var walk func(b box) error
	walk = func(b box) error {
		switch b.typ {
		case "tkhd":
			body, err := readBody(s, b, 24)
			if err != nil {
				return err
			}
			if len(body) >= 24 && body[0] == 1 {
				t.id = be32(body[20:])
			} else if len(body) >= 16 {
				t.id = be32(body[12:])
			}
		case "edts", "mdia", "minf", "stbl":
			return children(s, b, 256, walk)
		case "elst":
			body, err := readBody(s, b, 28)
			if err != nil {
				return err
			}
			if len(body) >= 8 && be32(body[4:]) >= 1 {
				if body[0] == 1 && len(body) >= 24 {
					t.mediaTime = int64(be64(body[16:]))
				} else if body[0] == 0 && len(body) >= 16 {
					t.mediaTime = int64(int32(be32(body[12:])))
				}
			}
		case "mdhd":
			body, err := readBody(s, b, 32)
			if err != nil {
				return err
			}
			if len(body) >= 32 && body[0] == 1 {
				t.timescale, t.duration = be32(body[20:]), be64(body[24:])
			} else if len(body) >= 20 {
				t.timescale, t.duration = be32(body[12:]), uint64(be32(body[16:]))
			} else {
				return unreadable("mdhd too short")
			}
		case "hdlr":
			body, err := readBody(s, b, 12)
			if err != nil {
				return err
			}
			if len(body) >= 12 {
				t.handler = string(body[8:12])
			}
		case "stsd":
			body, err := readBody(s, b, 4096)
			if err != nil {
				return err
			}
			parseStsd(body, t)
		}
		return nil
	}
	if err := children(s, trak, 256, walk); err != nil {
		return nil, err
	}
	return t, nil
}

// parseStsd reads the first sample entry: its format, channels, rate and, for mp4a, the
// object type in esds.
func parseStsd(body []byte, t *mp4Track) {
	if len(body) < 16 || be32(body[4:]) == 0 {
		return
	}
	e := body[8:]
	esz := int(be32(e))
	if esz < 8 || esz > len(e) {
		esz = len(e)
	}
	e = e[:esz]
	fourcc := string(e[4:8])
	t.codec = mp4Codec(fourcc)
	if len(e) < 36 {
		return
	}
	version := be16(e[16:])
	t.channels = int(be16(e[24:]))
	t.rate = int(be32(e[32:]) >> 16)
	kids := 36
	switch version {
	case 1:
		kids = 52
	case 2:
		kids = 72
		if len(e) >= 72 {
			if r := math.Float64frombits(be64(e[40:])); r > 0 && r < 1e7 {
				t.rate = int(r)
			}
			t.channels = int(be32(e[48:]))
		}
	}
	if fourcc == "samr" || fourcc == "sawb" {
		t.channels = 1 // AMR is mono; 3GPP sample entries carry a fixed 2 (TS 26.244)
	}
	if fourcc != "mp4a" || kids > len(e) {
		return
	}
	if i := bytes.Index(e[kids:], []byte("esds")); i >= 4 {
		if es, ok := esdsObjectType(e[kids+i+4:]); ok {
			if es.channels > 0 {
				t.channels = es.channels
			}
			if es.rate > 0 && es.oti == 0x40 && t.rate == 0 {
				t.rate = es.rate
			}
			switch es.oti {
			case 0x69, 0x6B:
				t.codec = "mp3"
			case 0xA5:
				t.codec = "ac3"
			case 0xA6:
				t.codec = "eac3"
			case 0xAD:
				t.codec = "opus"
			}
		}
	}
}

// esdsObjectType returns the DecoderConfigDescriptor's objectTypeIndication.
func esdsObjectType(b []byte) (esdsInfo, bool) {
	if len(b) < 4 {
		return esdsInfo{}, false
	}
	b = b[4:] // version and flags
	descLen := func() (int, bool) {
		n := 0
		for i := 0; i < 4; i++ {
			if len(b) == 0 {
				return 0, false
			}
			c := b[0]
			b = b[1:]
			n = n<<7 | int(c&0x7F)
			if c&0x80 == 0 {
				return n, true
			}
		}
		return n, true
	}
	if len(b) < 1 || b[0] != 0x03 {
		return esdsInfo{}, false
	}
	b = b[1:]
	if _, ok := descLen(); !ok || len(b) < 3 {
		return esdsInfo{}, false
	}
	flags := b[2]
	b = b[3:]
	if flags&0x80 != 0 {
		if len(b) < 2 {
			return esdsInfo{}, false
		}
		b = b[2:]
	}
	if flags&0x40 != 0 {
		if len(b) < 1 || len(b) < 1+int(b[0]) {
			return esdsInfo{}, false
		}
		b = b[1+int(b[0]):]
	}
	if flags&0x20 != 0 {
		if len(b) < 2 {
			return esdsInfo{}, false
		}
		b = b[2:]
	}
	if len(b) < 1 || b[0] != 0x04 {
		return esdsInfo{}, false
	}
	b = b[1:]
	if _, ok := descLen(); !ok || len(b) < 1 {
		return esdsInfo{}, false
	}
	e := esdsInfo{oti: b[0]}
	// DecoderSpecificInfo follows the 13 bytes of DecoderConfigDescriptor; for AAC it is an
	// AudioSpecificConfig, whose channel configuration is the truth (the sample entry's
	// channel count is usually a fixed 2).
	if len(b) < 14 || b[13] != 0x05 {
		return e, true
	}
	b = b[14:]
	if _, ok := descLen(); !ok || len(b) < 2 {
		return e, true
	}
	aot := b[0] >> 3
	bit := 5
	if aot == 31 {
		bit = 11
	}
	get := func(n int) (uint32, bool) {
		var v uint32
		for i := 0; i < n; i++ {
			if bit/8 >= len(b) {
				return 0, false
			}
			v = v<<1 | uint32(b[bit/8]>>(7-bit%8)&1)
			bit++
		}
		return v, true
	}
	sf, ok := get(4)
	if !ok {
		return e, true
	}
	if sf == 15 {
		if r, ok := get(24); ok {
			e.rate = int(r)
		}
	} else if int(sf) < len(adtsRates) {
		e.rate = adtsRates[sf]
	}
	if cc, ok := get(4); ok && cc >= 1 && cc <= 7 {
		e.channels = int(cc)
		if cc == 7 {
			e.channels = 8
		}
	}
	return e, true
}

type esdsInfo struct {
	oti      byte
	rate     int
	channels int
}

func mp4Codec(fourcc string) string {
	switch fourcc {
	case "mp4a":
		return "aac"
	case "samr":
		return "amr_nb"
	case "sawb":
		return "amr_wb"
	case "Opus":
		return "opus"
	case "fLaC":
		return "flac"
	case "alac":
		return "alac"
	case ".mp3":
		return "mp3"
	case "ac-3":
		return "ac3"
	case "ec-3":
		return "eac3"
	case "ulaw":
		return "pcm_mulaw"
	case "alaw":
		return "pcm_alaw"
	case "sowt", "twos", "lpcm", "ipcm", "in24", "in32", "fl32", "fl64", "raw ":
		return "pcm"
	}
	return strings.ToLower(strings.TrimSpace(fourcc))
}

// fragSum accumulates the audio track's fragments.
type fragSum struct {
	sum       uint64 // sum of sample durations over the fragments seen
	haveFirst bool
	first     uint64 // tfdt of the first fragment seen
	end       uint64 // tfdt + durations of the last fragment, when it had a tfdt
	haveEnd   bool
}

type moofFacts struct {
	found   bool
	tfdt    uint64
	hasTfdt bool
	dur     uint64
}

func (f *fragSum) add(m moofFacts) {
	if !m.found {
		return
	}
	f.sum += m.dur
	if m.hasTfdt {
		if !f.haveFirst {
			f.first, f.haveFirst = m.tfdt, true
		}
		f.end, f.haveEnd = m.tfdt+m.dur, true
	}
}

func (f *fragSum) total() uint64 {
	if f.haveEnd && f.haveFirst && f.end >= f.first && f.end-f.first > f.sum {
		return f.end - f.first
	}
	return f.sum
}

// parseMoof returns the audio track's decode time and duration in one moof's body (in
// memory, at most a bounded read).
func parseMoof(body []byte, t *mp4Track) moofFacts {
	var m moofFacts
	for _, traf := range memBoxes(body, "traf") {
		var (
			trackID  uint32
			defDur   = t.trexDur
			gotTfhd  bool
			trafTfdt uint64
			hasTfdt  bool
			dur      uint64
		)
		for _, c := range memChildren(traf) {
			p := c.body
			switch c.typ {
			case "tfhd":
				if len(p) < 8 {
					continue
				}
				flags := be24(p[1:])
				trackID = be32(p[4:])
				gotTfhd = true
				i := 8
				if flags&0x01 != 0 {
					i += 8
				}
				if flags&0x02 != 0 {
					i += 4
				}
				if flags&0x08 != 0 && len(p) >= i+4 {
					defDur = be32(p[i:])
				}
			case "tfdt":
				if len(p) >= 12 && p[0] == 1 {
					trafTfdt, hasTfdt = be64(p[4:]), true
				} else if len(p) >= 8 {
					trafTfdt, hasTfdt = uint64(be32(p[4:])), true
				}
			case "trun":
				if len(p) < 8 {
					continue
				}
				flags := be24(p[1:])
				count := uint64(be32(p[4:]))
				i := 8
				if flags&0x01 != 0 {
					i += 4
				}
				if flags&0x04 != 0 {
					i += 4
				}
				per := 0
				for _, f := range []uint32{0x100, 0x200, 0x400, 0x800} {
					if flags&f != 0 {
						per += 4
					}
				}
				if flags&0x100 == 0 {
					dur += count * uint64(defDur)
					continue
				}
				if i > len(p) {
					continue
				}
				// Never loop further than the bytes that are there, whatever count says.
				if avail := uint64((len(p) - i) / per); count > avail {
					count = avail
				}
				for k := uint64(0); k < count; k++ {
					dur += uint64(be32(p[i+int(k)*per:]))
				}
			}
		}
		if !gotTfhd || trackID != t.id && t.id != 0 {
			continue
		}
		m.found = true
		m.dur += dur
		if hasTfdt && !m.hasTfdt {
			m.tfdt, m.hasTfdt = trafTfdt, true
		}
	}
	return m
}

type memBox struct {
	typ  string
	body []byte
}

// memChildren splits an in-memory box body into its child boxes (stopping at the first
// malformed one).
func memChildren(b []byte) []memBox {
	var out []memBox
	for len(b) >= 8 && len(out) < 1024 {
		size := uint64(be32(b))
		hdr := uint64(8)
		if size == 1 {
			if len(b) < 16 {
				break
			}
			size, hdr = be64(b[8:]), 16
		} else if size == 0 {
			size = uint64(len(b))
		}
		if size < hdr || size > uint64(len(b)) {
			break
		}
		out = append(out, memBox{string(b[4:8]), b[hdr:size]})
		b = b[size:]
	}
	return out
}

func memBoxes(b []byte, typ string) [][]byte {
	var out [][]byte
	for _, c := range memChildren(b) {
		if c.typ == typ {
			out = append(out, c.body)
		}
	}
	return out
}

// lastFragment finds the last moof in the tail (72 KiB, then 768 KiB) and records its end
// time, so that a long fragmented recording costs a tail read instead of a walk over every
// fragment. When no complete moof is that near the end (fragments of many seconds at a high
// bitrate), the duration is extrapolated from the fragments walked in the head, [from, to),
// rather than rejecting the recording.
func lastFragment(s *src, t *mp4Track, f *fragSum, from, to int64) error {
	for _, n := range []int{tailWindow, 768 << 10} {
		woff, w, err := s.tail(n, 0)
		if errors.Is(err, errBudget) {
			break
		}
		if err != nil {
			return err
		}
		if found, err := scanLastMoof(w, t, f); found || err != nil {
			return err
		}
		if woff == 0 {
			return unreadable("fragmented MP4: no complete fragment with tfdt at the end")
		}
	}
	if from < 0 || to <= from || f.sum == 0 {
		return unreadable("fragmented MP4: no fragment with tfdt in the last %d bytes", 768<<10)
	}
	est := float64(f.sum) * float64(s.size-from) / float64(to-from)
	if est > 1<<62 {
		return unreadable("implausible estimate")
	}
	f.sum, f.haveEnd = uint64(est), false
	return nil
}

func scanLastMoof(w []byte, t *mp4Track, f *fragSum) (bool, error) {
	tries := 0
	for i := len(w) - 8; i >= 4 && tries < 64; i-- {
		if w[i] != 'm' || string(w[i:i+4]) != "moof" || i+12 > len(w) || string(w[i+8:i+12]) != "mfhd" {
			continue
		}
		size := int(be32(w[i-4:]))
		if size < 16 || i-4+size > len(w) {
			continue
		}
		tries++ // bounds the work on bodies full of false moofs
		m := parseMoof(w[i+4:i-4+size], t)
		if !m.found || !m.hasTfdt {
			continue
		}
		if !f.haveFirst {
			f.first, f.haveFirst = 0, true // not seen: recorders start at 0
		}
		end := m.tfdt + m.dur
		if end < f.first {
			return true, unreadable("fragmented MP4: last fragment before the first")
		}
		f.end, f.haveEnd = end, true
		f.sum = end - f.first
		return true, nil
	}
	return false, nil
}
