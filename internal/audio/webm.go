package audio

import (
	"errors"
	"math"
	"strings"
)

// WebM / Matroska (EBML). The Segment's children are walked by their headers up to the first
// Cluster; Info (TimecodeScale, Duration) and Tracks (the first audio track) are read. When
// Duration is absent (MediaRecorder with a timeslice, live muxers), the duration is the last
// Cluster's Timecode plus its last block's relative timecode and that block's own duration,
// found in the tail window (then a larger one) by scanning back for a Cluster header.

const (
	idEBML        = 0x1A45DFA3
	idDocType     = 0x4282
	idSegment     = 0x18538067
	idInfo        = 0x1549A966
	idTCScale     = 0x2AD7B1
	idDuration    = 0x4489
	idTracks      = 0x1654AE6B
	idTrackEntry  = 0xAE
	idTrackNumber = 0xD7
	idTrackType   = 0x83
	idCodecID     = 0x86
	idDefaultDur  = 0x23E383
	idAudio       = 0xE1
	idSamplingHz  = 0xB5
	idChannels    = 0x9F
	idBitDepth    = 0x6264
	idCluster     = 0x1F43B675
	idTimecode    = 0xE7
	idSimpleBlock = 0xA3
	idBlockGroup  = 0xA0
	idBlock       = 0xA1
	idBlockDur    = 0x9B
)

const unknownSize = math.MaxUint64

// vint reads an EBML variable-length integer; as an ID it keeps its marker bit.
func vint(b []byte, keepMarker bool) (v uint64, n int, ok bool) {
	if len(b) == 0 || b[0] == 0 {
		return 0, 0, false
	}
	n = 1
	for m := byte(0x80); b[0]&m == 0; m >>= 1 {
		n++
	}
	if n > 8 || len(b) < n {
		return 0, 0, false
	}
	v = uint64(b[0])
	if !keepMarker {
		v &= uint64(0xFF >> n)
	}
	allOnes := v == uint64(0xFF>>n)
	for i := 1; i < n; i++ {
		v = v<<8 | uint64(b[i])
		allOnes = allOnes && b[i] == 0xFF
	}
	if !keepMarker && allOnes {
		return unknownSize, n, true
	}
	return v, n, true
}

// elemHeader parses an element's ID and size.
func elemHeader(b []byte) (id uint32, size uint64, n int, ok bool) {
	idv, a, ok := vint(b, true)
	if !ok || a > 4 {
		return 0, 0, 0, false
	}
	sz, c, ok := vint(b[a:], false)
	if !ok {
		return 0, 0, 0, false
	}
	return uint32(idv), sz, a + c, true
}

type elem struct {
	id   uint32
	data []byte
}

// elems splits an in-memory master element's data into children (an unknown or overlong
// size is cut at the end of the data).
func elems(b []byte) []elem {
	var out []elem
	for len(b) > 0 && len(out) < 4096 {
		id, sz, n, ok := elemHeader(b)
		if !ok {
			break
		}
		b = b[n:]
		if sz > uint64(len(b)) {
			sz = uint64(len(b))
		}
		out = append(out, elem{id, b[:sz]})
		b = b[sz:]
	}
	return out
}

func ebmlUint(b []byte) uint64 {
	var v uint64
	for i := 0; i < len(b) && i < 8; i++ {
		v = v<<8 | uint64(b[i])
	}
	return v
}

func ebmlFloat(b []byte) float64 {
	switch len(b) {
	case 4:
		return float64(math.Float32frombits(be32(b)))
	case 8:
		return math.Float64frombits(be64(b))
	}
	return 0
}

type mkvTrack struct {
	number     uint64
	codecID    string
	rate       float64
	channels   uint64
	bitDepth   uint64
	defaultDur uint64 // ns
}

func probeEBML(s *src) (Info, error) {
	h, err := s.readFull(0, 12, "EBML header")
	if err != nil {
		return Info{}, err
	}
	_, hsz, hn, ok := elemHeader(h)
	if !ok || hsz == unknownSize || hsz > 4096 {
		return Info{}, unreadable("bad EBML header")
	}
	hb, err := s.readFull(int64(hn), int(hsz), "EBML header")
	if err != nil {
		return Info{}, err
	}
	doc := ""
	for _, e := range elems(hb) {
		if e.id == idDocType {
			doc = strings.TrimRight(string(e.data), "\x00")
		}
	}
	if doc != "webm" && doc != "matroska" {
		return Info{}, notAudio("EBML document %q", doc)
	}
	off := int64(hn) + int64(hsz)
	sh, err := s.readFull(off, 12, "Segment header")
	if err != nil {
		return Info{}, err
	}
	id, segSize, n, ok := elemHeader(sh)
	if !ok || id != idSegment {
		return Info{}, unreadable("no Segment after the EBML header")
	}
	segStart := off + int64(n)
	segEnd := s.size
	if segSize != unknownSize && segSize < uint64(s.size-segStart) {
		segEnd = segStart + int64(segSize)
	}

	tcScale := uint64(1000000)
	var (
		duration  float64
		haveDur   bool
		track     *mkvTrack
		seenInfo  bool
		clusterAt int64 = -1
	)
	off = segStart
	for i := 0; i < 256 && off < segEnd; i++ {
		eh, err := s.read(off, 12)
		if err != nil {
			return Info{}, err
		}
		id, sz, n, ok := elemHeader(eh)
		if !ok {
			return Info{}, unreadable("bad element header at %d", off)
		}
		if id == idCluster {
			clusterAt = off
			break
		}
		if sz == unknownSize {
			return Info{}, unreadable("element %x of unknown size before the first Cluster", id)
		}
		body := off + int64(n)
		switch id {
		case idInfo, idTracks:
			if sz > 64<<10 {
				return Info{}, unreadable("element %x too large", id)
			}
			b, err := s.readFull(body, int(sz), "Segment child")
			if err != nil {
				return Info{}, err
			}
			if id == idInfo {
				seenInfo = true
				for _, e := range elems(b) {
					switch e.id {
					case idTCScale:
						if v := ebmlUint(e.data); v > 0 {
							tcScale = v
						}
					case idDuration:
						duration, haveDur = ebmlFloat(e.data), true
					}
				}
			} else {
				track = firstAudioTrack(b)
			}
		}
		if sz > uint64(segEnd-body) {
			break
		}
		off = body + int64(sz)
	}
	if track == nil {
		if !seenInfo && clusterAt < 0 {
			return Info{}, unreadable("no Tracks element")
		}
		return Info{}, notAudio("Matroska without an audio track")
	}
	if track.codecID == "" {
		return Info{}, unreadable("audio track without a CodecID")
	}
	info := Info{Container: "webm", Codec: mkvCodec(track), SampleRateHz: int(track.rate), Channels: int(track.channels)}
	if track.rate <= 0 || track.rate > 1e7 {
		info.SampleRateHz = 0
	}
	if track.channels > 1024 {
		info.Channels = 0
	}
	if info.Codec == "opus" {
		info.SampleRateHz = 48000 // Opus always decodes at 48 kHz, whatever the header says
	}
	if haveDur && duration > 0 && !math.IsInf(duration, 0) && duration*float64(tcScale) < 1e18*1e3 {
		info.DurationMS = int64(math.Round(duration * float64(tcScale) / 1e6))
		return info, nil
	}
	if clusterAt < 0 {
		if segEnd-off <= 0 {
			return info, nil // headers only, no audio at all: an empty recording
		}
		return Info{}, unreadable("no Cluster")
	}
	end, err := lastBlockEnd(s, track, clusterAt, tcScale)
	if err != nil {
		return Info{}, err
	}
	info.DurationMS = int64(math.Round(float64(end) * float64(tcScale) / 1e6))
	return info, nil
}

func firstAudioTrack(b []byte) *mkvTrack {
	for _, te := range elems(b) {
		if te.id != idTrackEntry {
			continue
		}
		t := &mkvTrack{channels: 1}
		var typ uint64
		for _, e := range elems(te.data) {
			switch e.id {
			case idTrackNumber:
				t.number = ebmlUint(e.data)
			case idTrackType:
				typ = ebmlUint(e.data)
			case idCodecID:
				t.codecID = string(e.data)
			case idDefaultDur:
				t.defaultDur = ebmlUint(e.data)
			case idAudio:
				t.rate = 8000 // the spec's default
				for _, a := range elems(e.data) {
					switch a.id {
					case idSamplingHz:
						t.rate = ebmlFloat(a.data)
					case idChannels:
						t.channels = ebmlUint(a.data)
					case idBitDepth:
						t.bitDepth = ebmlUint(a.data)
					}
				}
			}
		}
		if typ == 2 {
			return t
		}
	}
	return nil
}

func mkvCodec(t *mkvTrack) string {
	id := t.codecID
	switch {
	case id == "A_OPUS":
		return "opus"
	case id == "A_VORBIS":
		return "vorbis"
	case strings.HasPrefix(id, "A_AAC"):
		return "aac"
	case id == "A_MPEG/L3":
		return "mp3"
	case id == "A_FLAC":
		return "flac"
	case id == "A_PCM/INT/LIT":
		if t.bitDepth == 8 {
			return "pcm_u8"
		}
		if t.bitDepth > 0 {
			return "pcm_s" + itoa(t.bitDepth) + "le"
		}
		return "pcm"
	case id == "A_PCM/FLOAT/IEEE":
		return "pcm_f32le"
	}
	return strings.ToLower(strings.TrimPrefix(id, "A_"))
}

func itoa(v uint64) string {
	if v == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	for v > 0 {
		i--
		b[i] = byte('0' + v%10)
		v /= 10
	}
	return string(b[i:])
}

// lastBlockEnd returns, in timecode units, the end of the audio track's last block: found by
// scanning the tail back for the last Cluster whose first child is a Timecode. A block's
// timecode is an int16 offset from its Cluster's, so a Cluster spans at most ~32.8 s at the
// usual 1 ms scale: the last one starts within 768 KiB of the end unless the audio runs over
// ~190 kbit/s (PCM in WebM). Then the duration is estimated from the first Cluster's bytes
// per timecode unit, rather than rejecting a real recording.
func lastBlockEnd(s *src, t *mkvTrack, floor int64, tcScale uint64) (uint64, error) {
	for _, n := range []int{tailWindow, 768 << 10} {
		woff, w, err := s.tail(n, floor)
		if errors.Is(err, errBudget) {
			break
		}
		if err != nil {
			return 0, err
		}
		if end, ok := scanLastCluster(w, t, tcScale); ok {
			return end, nil
		}
		if woff <= floor {
			return 0, unreadable("no Cluster with a Timecode")
		}
	}
	return estimateFromFirstCluster(s, t, floor)
}

// estimateFromFirstCluster extrapolates the first Cluster's timecodes per byte (what the head
// holds of it) to the whole body.
func estimateFromFirstCluster(s *src, t *mkvTrack, at int64) (uint64, error) {
	n := int64(headWindow)
	if at < headWindow-4096 {
		n = headWindow - at // what the head window already holds
	}
	b, err := s.read(at, int(n))
	if err != nil {
		return 0, err
	}
	id, _, hn0, ok := elemHeader(b)
	if !ok || id != idCluster {
		return 0, unreadable("bad first Cluster")
	}
	var (
		base                uint64
		haveBase, haveFirst bool
		firstTS, lastTS     int64
		firstOff, lastOff   int
	)
	for i, k := hn0, 0; i < len(b) && k < 100000; k++ {
		cid, sz, hn, ok := elemHeader(b[i:])
		if !ok {
			break
		}
		data := b[i+hn:]
		if sz < uint64(len(data)) {
			data = data[:sz]
		}
		switch cid {
		case idTimecode:
			base, haveBase = ebmlUint(data), true
		case idSimpleBlock:
			tn, a, ok := vint(data, false)
			if haveBase && ok && len(data) >= a+2 && tn == t.number {
				ts := int64(base) + int64(int16(be16(data[a:])))
				if !haveFirst {
					firstTS, firstOff, haveFirst = ts, i, true
				}
				lastTS, lastOff = ts, i
			}
		}
		if sz == unknownSize || sz >= uint64(len(b)-i-hn) {
			break
		}
		i += hn + int(sz)
	}
	if !haveFirst || lastOff <= firstOff || lastTS <= firstTS {
		return 0, unreadable("no Cluster near the end, and too little in the first to estimate from")
	}
	perByte := float64(lastTS-firstTS) / float64(lastOff-firstOff)
	est := float64(firstTS) + perByte*float64(s.size-at-int64(firstOff))
	if est < 0 || est > 1e15 {
		return 0, unreadable("implausible estimate")
	}
	return uint64(est), nil
}

func scanLastCluster(w []byte, t *mkvTrack, tcScale uint64) (uint64, bool) {
	tries := 0
	for i := len(w) - 4; i >= 0 && tries < 64; i-- {
		if w[i] != 0x1F || w[i+1] != 0x43 || w[i+2] != 0xB6 || w[i+3] != 0x75 {
			continue
		}
		id, sz, n, ok := elemHeader(w[i:])
		if !ok || id != idCluster {
			continue
		}
		tries++ // bounds the work on bodies full of false Cluster IDs
		data := w[i+n:]
		if sz != unknownSize && sz < uint64(len(data)) {
			data = data[:sz]
		}
		kids := elems(data)
		if len(kids) == 0 || kids[0].id != idTimecode || len(kids[0].data) > 8 {
			continue
		}
		base := ebmlUint(kids[0].data)
		var (
			last    uint64
			lastDur uint64
			found   bool
		)
		for _, k := range kids[1:] {
			var blk []byte
			var bdur uint64
			haveBDur := false
			switch k.id {
			case idSimpleBlock:
				blk = k.data
			case idBlockGroup:
				for _, g := range elems(k.data) {
					switch g.id {
					case idBlock:
						blk = g.data
					case idBlockDur:
						bdur, haveBDur = ebmlUint(g.data), true
					}
				}
			default:
				continue
			}
			tn, a, ok := vint(blk, false)
			if !ok || len(blk) < a+3 || tn != t.number {
				continue
			}
			rel := int16(be16(blk[a:]))
			ts := int64(base) + int64(rel)
			if ts < 0 {
				ts = 0
			}
			if !found || uint64(ts) >= last {
				last, found = uint64(ts), true
				switch {
				case haveBDur:
					lastDur = bdur
				case t.defaultDur > 0:
					lastDur = t.defaultDur / tcScale
				case t.codecID == "A_OPUS" && blk[a+2]&0x06 == 0:
					lastDur = opusPacketSamples(blk[a+3:]) * 1000000000 / 48000 / tcScale
				default:
					lastDur = 0
				}
			}
		}
		if found {
			return last + lastDur, true
		}
	}
	return 0, false
}

// opusPacketSamples returns the samples (at 48 kHz) in one Opus packet, from its TOC byte.
func opusPacketSamples(p []byte) uint64 {
	if len(p) == 0 {
		return 0
	}
	cfg := p[0] >> 3
	var per uint64 // in 48 kHz samples
	switch {
	case cfg < 12:
		per = [4]uint64{480, 960, 1920, 2880}[cfg%4]
	case cfg < 16:
		per = [2]uint64{480, 960}[cfg%2]
	default:
		per = [4]uint64{120, 240, 480, 960}[cfg%4]
	}
	frames := uint64(1)
	switch p[0] & 3 {
	case 1, 2:
		frames = 2
	case 3:
		if len(p) < 2 {
			return 0
		}
		frames = uint64(p[1] & 0x3F)
	}
	return per * frames
}
