package audio

// AAC in ADTS frames (.aac). Frames are counted within countWindow bytes; when the body is
// longer, the rest is estimated from the average frame size counted so far. Each raw data
// block is 1024 samples at the header's rate.

type adtsHeader struct {
	rate     int
	channels int
	frameLen int
	blocks   int
}

var adtsRates = [13]int{96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350}

func parseADTS(b []byte) (adtsHeader, bool) {
	if len(b) < 7 || b[0] != 0xFF || b[1]&0xF6 != 0xF0 {
		return adtsHeader{}, false
	}
	sf := int(b[2] >> 2 & 0x0F)
	if sf >= len(adtsRates) {
		return adtsHeader{}, false
	}
	h := adtsHeader{
		rate:     adtsRates[sf],
		channels: int(b[2]&1)<<2 | int(b[3]>>6),
		frameLen: int(b[3]&3)<<11 | int(b[4])<<3 | int(b[5]>>5),
		blocks:   int(b[6]&3) + 1,
	}
	hdr := 7
	if b[1]&1 == 0 {
		hdr = 9
	}
	if h.frameLen < hdr {
		return adtsHeader{}, false
	}
	if h.channels == 7 {
		h.channels = 8
	}
	return h, true
}

func probeADTS(s *src, off int64) (Info, error) {
	w, err := s.read(off, countWindow)
	if err != nil {
		return Info{}, err
	}
	first, ok := parseADTS(w)
	if !ok {
		return Info{}, unreadable("bad ADTS header")
	}
	info := Info{Container: "adts", Codec: "aac", SampleRateHz: first.rate, Channels: first.channels}
	blocks, used, complete := countFrames(w, s.size-off, func(b []byte) (int, int, bool) {
		h, ok := parseADTS(b)
		if !ok || h.rate != first.rate {
			return 0, 0, false
		}
		return h.frameLen, h.blocks, true
	})
	info.DurationMS = durMS(estimate(blocks, used, s.size-off, complete)*1024, uint64(first.rate))
	return info, nil
}

// countFrames walks frames in w (the first bytes of a stream remaining bytes long) and returns
// the units counted, the bytes they took and whether the walk reached the stream's end. A
// frame that does not parse ends the walk (trailing tags, or corruption).
func countFrames(w []byte, remaining int64, frame func([]byte) (size, units int, ok bool)) (uint64, int64, bool) {
	var units uint64
	i := 0
	for i < len(w) {
		n, u, ok := frame(w[i:])
		if !ok || n <= 0 {
			// Stopped on something that is not a frame: the count is all there is if the
			// window held the whole stream.
			return units, int64(i), int64(len(w)) == remaining
		}
		if i+n > len(w) {
			break // the frame runs past the window
		}
		units += uint64(u)
		i += n
	}
	return units, int64(i), int64(i) == remaining
}

// estimate scales a count over used bytes to the whole remaining stream.
func estimate(units uint64, used, remaining int64, complete bool) uint64 {
	if complete || used <= 0 || used >= remaining {
		return units
	}
	// units * remaining / used without overflow for any realistic body (units < 2^24 here).
	return uint64(float64(units) * float64(remaining) / float64(used))
}
