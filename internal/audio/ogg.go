package audio

// Ogg (Opus, Vorbis, FLAC-in-Ogg). The first page's packet names the codec; the duration is
// the last page's granule position (of the same stream, with a valid CRC), found in the tail
// window: an Ogg page is at most 65,307 bytes, so the last one starts inside it. Opus:
// (granule - pre-skip) / 48 kHz. Vorbis and FLAC: granule / rate.

type oggPage struct {
	granule uint64
	serial  uint32
	hdrLen  int
	bodyLen int
}

// parseOggPage parses the page header at the start of b.
func parseOggPage(b []byte) (oggPage, bool) {
	if len(b) < 27 || string(b[:4]) != "OggS" || b[4] != 0 {
		return oggPage{}, false
	}
	nseg := int(b[26])
	if len(b) < 27+nseg {
		return oggPage{}, false
	}
	p := oggPage{granule: le64(b[6:]), serial: le32(b[14:]), hdrLen: 27 + nseg}
	for _, l := range b[27 : 27+nseg] {
		p.bodyLen += int(l)
	}
	return p, true
}

var oggCRCTable = func() (t [256]uint32) {
	for i := range t {
		r := uint32(i) << 24
		for j := 0; j < 8; j++ {
			if r&0x80000000 != 0 {
				r = r<<1 ^ 0x04C11DB7
			} else {
				r <<= 1
			}
		}
		t[i] = r
	}
	return
}()

// oggCRCOK checks a complete page's CRC (computed with the CRC field as zeros).
func oggCRCOK(page []byte) bool {
	var crc uint32
	for i, c := range page {
		if i >= 22 && i < 26 {
			c = 0
		}
		crc = crc<<8 ^ oggCRCTable[byte(crc>>24)^c]
	}
	return crc == le32(page[22:])
}

func probeOgg(s *src) (Info, error) {
	h, err := s.readFull(0, 27, "Ogg page")
	if err != nil {
		return Info{}, err
	}
	h, err = s.readFull(0, 27+int(h[26]), "Ogg page")
	if err != nil {
		return Info{}, err
	}
	first, ok := parseOggPage(h)
	if !ok {
		return Info{}, unreadable("bad first Ogg page")
	}
	n := first.bodyLen
	if n > 512 {
		n = 512
	}
	pkt, err := s.readFull(int64(first.hdrLen), n, "Ogg packet")
	if err != nil {
		return Info{}, err
	}
	var (
		info    = Info{Container: "ogg"}
		rate    uint64
		preSkip uint64
	)
	switch {
	case len(pkt) >= 19 && string(pkt[:8]) == "OpusHead":
		info.Codec = "opus"
		info.Channels = int(pkt[9])
		preSkip = uint64(le16(pkt[10:]))
		rate = 48000
	case len(pkt) >= 30 && pkt[0] == 1 && string(pkt[1:7]) == "vorbis":
		info.Codec = "vorbis"
		info.Channels = int(pkt[11])
		rate = uint64(le32(pkt[12:]))
	case len(pkt) >= 51 && pkt[0] == 0x7F && string(pkt[1:5]) == "FLAC" && string(pkt[9:13]) == "fLaC":
		info.Codec = "flac"
		si := pkt[17:]
		rate = uint64(be24(si[10:]) >> 4)
		info.Channels = int(si[12]>>1&7) + 1
	case len(pkt) >= 52 && string(pkt[:8]) == "Speex   ":
		info.Codec = "speex"
		rate = uint64(le32(pkt[36:]))
		info.Channels = int(le32(pkt[48:]))
	default:
		return Info{}, unreadable("Ogg stream of an unknown codec")
	}
	if rate == 0 || rate > 1<<20 {
		return Info{}, unreadable("Ogg stream with rate %d", rate)
	}
	info.SampleRateHz = int(rate)
	_, w, err := s.tail(tailWindow, 0)
	if err != nil {
		return Info{}, err
	}
	tries := 0
	for i := len(w) - 27; i >= 0 && tries < 256; i-- {
		if w[i] != 'O' {
			continue
		}
		p, ok := parseOggPage(w[i:])
		if !ok || p.serial != first.serial || p.granule == ^uint64(0) {
			continue
		}
		tries++ // bounds the CRC work on bodies full of false pages
		if end := i + p.hdrLen + p.bodyLen; end > len(w) || !oggCRCOK(w[i:end]) {
			continue
		}
		g := p.granule
		if g < preSkip {
			g = 0
		} else {
			g -= preSkip
		}
		info.DurationMS = durMS(g, rate)
		return info, nil
	}
	return Info{}, unreadable("no complete Ogg page with a granule position at the end")
}
