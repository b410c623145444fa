package audio

// MP3 (MPEG-1/2/2.5 audio; layers I–III are all recognised, codec "mp1"/"mp2"/"mp3"). After
// any ID3v2 tags, the first frame is checked to be followed by a second. A Xing/Info or VBRI
// header in the first frame gives the frame count (and LAME's encoder delay and padding,
// subtracted); otherwise the file is taken as CBR: (audio bytes, without an ID3v1 tag) * 8 /
// bitrate.

type mpaHeader struct {
	version  int // 1, 2 or 25 (2.5)
	layer    int
	bitrate  int // bits per second
	rate     int
	channels int
	frameLen int
	samples  int // per frame
	side     int // layer III side information length
}

var mpaBitrates = [5][15]int{
	{0, 32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448}, // V1 L1
	{0, 32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384},    // V1 L2
	{0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320},     // V1 L3
	{0, 32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256},    // V2 L1
	{0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160},         // V2 L2, L3
}

// parseMPA parses an MPEG audio frame header at the start of b (4 bytes at least).
func parseMPA(b []byte) (mpaHeader, bool) {
	if len(b) < 4 || b[0] != 0xFF || b[1]&0xE0 != 0xE0 {
		return mpaHeader{}, false
	}
	vbits := b[1] >> 3 & 3
	lbits := b[1] >> 1 & 3
	bidx := int(b[2] >> 4)
	ridx := int(b[2] >> 2 & 3)
	if vbits == 1 || lbits == 0 || bidx == 0 || bidx == 15 || ridx == 3 || b[3]&3 == 2 {
		return mpaHeader{}, false
	}
	h := mpaHeader{layer: 4 - int(lbits)}
	rates := [3]int{44100, 48000, 32000}
	switch vbits {
	case 3:
		h.version = 1
		h.rate = rates[ridx]
		h.bitrate = mpaBitrates[h.layer-1][bidx] * 1000
	case 2:
		h.version = 2
		h.rate = rates[ridx] / 2
	case 0:
		h.version = 25
		h.rate = rates[ridx] / 4
	}
	if h.version != 1 {
		if h.layer == 1 {
			h.bitrate = mpaBitrates[3][bidx] * 1000
		} else {
			h.bitrate = mpaBitrates[4][bidx] * 1000
		}
	}
	pad := int(b[2] >> 1 & 1)
	mono := b[3]>>6 == 3
	h.channels = 2
	if mono {
		h.channels = 1
	}
	switch {
	case h.layer == 1:
		h.samples = 384
		h.frameLen = (12*h.bitrate/h.rate + pad) * 4
	case h.layer == 2 || h.version == 1:
		h.samples = 1152
		h.frameLen = 144*h.bitrate/h.rate + pad
	default: // layer III, MPEG-2/2.5
		h.samples = 576
		h.frameLen = 72*h.bitrate/h.rate + pad
	}
	if h.layer == 3 {
		switch {
		case h.version == 1 && !mono:
			h.side = 32
		case h.version == 1 || !mono:
			h.side = 17
		default:
			h.side = 9
		}
	}
	if h.frameLen < 4+h.side {
		return mpaHeader{}, false
	}
	return h, true
}

func probeMP3(s *src, off int64) (Info, error) {
	fb, err := s.readFull(off, 4, "MPEG audio frame")
	if err != nil {
		return Info{}, err
	}
	h, ok := parseMPA(fb)
	if !ok {
		return Info{}, unreadable("bad MPEG audio frame header")
	}
	info := Info{Container: "mp3", Codec: [4]string{"", "mp1", "mp2", "mp3"}[h.layer], SampleRateHz: h.rate, Channels: h.channels}
	frame, err := s.read(off, h.frameLen)
	if err != nil {
		return Info{}, err
	}
	if x := 4 + h.side; h.layer == 3 && len(frame) >= x+8 && (string(frame[x:x+4]) == "Xing" || string(frame[x:x+4]) == "Info") {
		flags := be32(frame[x+4:])
		p := x + 8
		if flags&1 != 0 && len(frame) >= p+4 {
			frames := uint64(be32(frame[p:]))
			samples := frames * uint64(h.samples)
			// LAME tag after the Xing fields: encoder delay and padding, 12 bits each.
			q := p + 4
			if flags&2 != 0 {
				q += 4
			}
			if flags&4 != 0 {
				q += 100
			}
			if flags&8 != 0 {
				q += 4
			}
			if len(frame) >= q+24 && (string(frame[q:q+4]) == "LAME" || string(frame[q:q+4]) == "Lavc" || string(frame[q:q+4]) == "Lavf") {
				d := be24(frame[q+21:])
				trim := uint64(d>>12) + uint64(d&0xFFF)
				if trim < samples {
					samples -= trim
				}
			}
			info.DurationMS = durMS(samples, uint64(h.rate))
			return info, nil
		}
	}
	if len(frame) >= 36+18 && string(frame[36:40]) == "VBRI" {
		frames := uint64(be32(frame[36+14:]))
		info.DurationMS = durMS(frames*uint64(h.samples), uint64(h.rate))
		return info, nil
	}
	end := s.size
	if end-off >= 128+int64(h.frameLen) {
		t, err := s.read(end-128, 3)
		if err != nil {
			return Info{}, err
		}
		if string(t) == "TAG" {
			end -= 128
		}
	}
	info.DurationMS = durMS(uint64(end-off)*8, uint64(h.bitrate))
	return info, nil
}
