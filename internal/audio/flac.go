package audio

// FLAC: "fLaC", then metadata blocks, the first being STREAMINFO (rate, channels, bits, total
// samples). Duration = total samples / rate. A stream written without seeking back (total
// samples 0) gets its duration from the last frame header in the tail window (its frame or
// sample number plus its block size, checked by the header's CRC-8).

func probeFLAC(s *src, off int64) (Info, error) {
	b, err := s.readFull(off, 4+4+34, "STREAMINFO")
	if err != nil {
		return Info{}, err
	}
	if b[4]&0x7F != 0 || be24(b[5:]) < 34 {
		return Info{}, unreadable("first metadata block is not STREAMINFO")
	}
	si := b[8:]
	minBlock := be16(si)
	maxBlock := be16(si[2:])
	rate := uint64(be24(si[10:]) >> 4)
	channels := int(si[12]>>1&7) + 1
	total := uint64(si[13]&0x0F)<<32 | uint64(be32(si[14:]))
	if rate == 0 {
		return Info{}, unreadable("STREAMINFO with rate 0")
	}
	info := Info{Container: "flac", Codec: "flac", SampleRateHz: int(rate), Channels: channels}
	if total == 0 {
		var ok bool
		if total, ok, err = flacTailSamples(s, off+42, minBlock, maxBlock); err != nil {
			return Info{}, err
		} else if !ok {
			return Info{}, unreadable("FLAC without total samples and no frame header at the end")
		}
	}
	info.DurationMS = durMS(total, rate)
	return info, nil
}

var crc8Table = func() (t [256]byte) {
	for i := range t {
		c := byte(i)
		for j := 0; j < 8; j++ {
			if c&0x80 != 0 {
				c = c<<1 ^ 0x07
			} else {
				c <<= 1
			}
		}
		t[i] = c
	}
	return
}()

func flacTailSamples(s *src, floor int64, minBlock, maxBlock uint16) (uint64, bool, error) {
	_, w, err := s.tail(tailWindow, floor)
	if err != nil {
		return 0, false, err
	}
	for i := len(w) - 6; i >= 0; i-- {
		if w[i] != 0xFF || w[i+1]&0xFE != 0xF8 {
			continue
		}
		if end, ok := flacFrameEnd(w[i:], minBlock, maxBlock); ok {
			return end, true, nil
		}
	}
	return 0, false, nil
}

// flacFrameEnd parses a frame header and returns the sample number just after the frame.
func flacFrameEnd(b []byte, minBlock, maxBlock uint16) (uint64, bool) {
	variable := b[1]&1 == 1
	bsCode := b[2] >> 4
	rateCode := b[2] & 0x0F
	if bsCode == 0 || rateCode == 15 || b[3]>>4 > 10 || b[3]&1 != 0 {
		return 0, false
	}
	// UTF-8-like coded frame or sample number.
	i := 4
	if i >= len(b) {
		return 0, false
	}
	c := b[i]
	i++
	var num uint64
	var extra int
	switch {
	case c < 0x80:
		num = uint64(c)
	case c&0xE0 == 0xC0:
		num, extra = uint64(c&0x1F), 1
	case c&0xF0 == 0xE0:
		num, extra = uint64(c&0x0F), 2
	case c&0xF8 == 0xF0:
		num, extra = uint64(c&0x07), 3
	case c&0xFC == 0xF8:
		num, extra = uint64(c&0x03), 4
	case c&0xFE == 0xFC:
		num, extra = uint64(c&0x01), 5
	case c == 0xFE:
		num, extra = 0, 6
	default:
		return 0, false
	}
	for ; extra > 0; extra-- {
		if i >= len(b) || b[i]&0xC0 != 0x80 {
			return 0, false
		}
		num = num<<6 | uint64(b[i]&0x3F)
		i++
	}
	var bs uint64
	switch {
	case bsCode == 1:
		bs = 192
	case bsCode <= 5:
		bs = 576 << (bsCode - 2)
	case bsCode == 6:
		if i+1 > len(b) {
			return 0, false
		}
		bs = uint64(b[i]) + 1
		i++
	case bsCode == 7:
		if i+2 > len(b) {
			return 0, false
		}
		bs = uint64(be16(b[i:])) + 1
		i += 2
	default:
		bs = 256 << (bsCode - 8)
	}
	switch rateCode {
	case 12:
		i++
	case 13, 14:
		i += 2
	}
	if i >= len(b) {
		return 0, false
	}
	var crc byte
	for _, x := range b[:i] {
		crc = crc8Table[crc^x]
	}
	if crc != b[i] {
		return 0, false
	}
	if variable {
		return num + bs, true
	}
	// Fixed block size: the number counts frames of the nominal block size (the last frame
	// may be shorter).
	nominal := uint64(maxBlock)
	if minBlock == maxBlock && minBlock > 0 {
		nominal = uint64(minBlock)
	}
	if nominal == 0 || num > (1<<40) {
		return 0, false
	}
	return num*nominal + bs, true
}
