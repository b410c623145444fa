package audio

import "fmt"

// WAV: RIFF/WAVE (and RF64/BW64 with a ds64 chunk for bodies over 4 GiB). The chunk list is
// walked by headers; only fmt, ds64 and fact are read, the data chunk is measured by its
// size. Duration = data bytes / block align / rate (or the fact chunk's sample count, or
// bytes / byte rate for compressed WAV).

func probeWAV(s *src) (Info, error) {
	h, err := s.readFull(0, 12, "RIFF header")
	if err != nil {
		return Info{}, err
	}
	rf64 := string(h[:4]) != "RIFF"
	var (
		haveFmt               bool
		format                uint16
		channels              uint16
		rate, byteRate        uint32
		blockAlign, bits      uint16
		ds64Data, ds64Samples uint64
		haveDS64              bool
		factSamples           uint64
		haveFact              bool
		dataOff               int64 = -1
		dataSize              uint64
		dataSizeUnknown       bool
	)
	off := int64(12)
	for i := 0; i < 4096 && off+8 <= s.size; i++ {
		ch, err := s.readFull(off, 8, "chunk header")
		if err != nil {
			return Info{}, err
		}
		id := string(ch[:4])
		sz := uint64(le32(ch[4:]))
		body := off + 8
		switch id {
		case "ds64":
			if sz < 24 {
				return Info{}, unreadable("ds64 too short")
			}
			b, err := s.readFull(body, 24, "ds64")
			if err != nil {
				return Info{}, err
			}
			ds64Data, ds64Samples, haveDS64 = le64(b[8:]), le64(b[16:]), true
		case "fmt ":
			if sz < 16 {
				return Info{}, unreadable("fmt chunk too short")
			}
			n := 16
			if sz >= 40 {
				n = 40
			}
			b, err := s.readFull(body, n, "fmt chunk")
			if err != nil {
				return Info{}, err
			}
			format, channels = le16(b), le16(b[2:])
			rate, byteRate = le32(b[4:]), le32(b[8:])
			blockAlign, bits = le16(b[12:]), le16(b[14:])
			if format == 0xFFFE { // WAVE_FORMAT_EXTENSIBLE: the real format leads the GUID
				if n < 40 {
					return Info{}, unreadable("extensible fmt chunk too short")
				}
				format = le16(b[24:])
			}
			haveFmt = true
		case "fact":
			if sz >= 4 {
				b, err := s.readFull(body, 4, "fact chunk")
				if err != nil {
					return Info{}, err
				}
				factSamples, haveFact = uint64(le32(b)), true
			}
		case "data":
			dataOff = body
			dataSize = sz
			if rf64 && sz == 0xFFFFFFFF {
				if !haveDS64 {
					return Info{}, unreadable("RF64 without ds64")
				}
				dataSize = ds64Data
			}
			if sz == 0 || sz == 0xFFFFFFFF && !rf64 {
				dataSizeUnknown = true // a streaming writer that never came back to fix sizes
			}
		}
		if dataOff >= 0 && haveFmt {
			break
		}
		if id == "data" && (dataSizeUnknown || sz == 0xFFFFFFFF) {
			break // nothing follows that we could find
		}
		next := body + int64(sz) + int64(sz&1)
		if next <= off {
			break
		}
		off = next
	}
	if !haveFmt {
		return Info{}, unreadable("no fmt chunk")
	}
	if dataOff < 0 {
		return Info{}, unreadable("no data chunk")
	}
	if channels == 0 || rate == 0 {
		return Info{}, unreadable("fmt chunk with zero channels or rate")
	}
	avail := uint64(s.size - dataOff)
	if dataOff > s.size {
		avail = 0
	}
	if dataSizeUnknown || dataSize > avail {
		dataSize = avail // truncated or never finalised: count what is there
	}
	info := Info{Container: "wav", Codec: wavCodec(format, bits), SampleRateHz: int(rate), Channels: int(channels)}
	switch {
	case (format == 1 || format == 3 || format == 6 || format == 7) && blockAlign > 0:
		info.DurationMS = durMS(dataSize/uint64(blockAlign), uint64(rate))
	case haveDS64 && ds64Samples > 0:
		info.DurationMS = durMS(ds64Samples, uint64(rate))
	case haveFact && factSamples > 0:
		info.DurationMS = durMS(factSamples, uint64(rate))
	case byteRate > 0:
		info.DurationMS = durMS(dataSize, uint64(byteRate))
	default:
		return Info{}, unreadable("cannot compute duration")
	}
	return info, nil
}

func wavCodec(format, bits uint16) string {
	switch format {
	case 1:
		switch bits {
		case 8:
			return "pcm_u8"
		case 16:
			return "pcm_s16le"
		case 24:
			return "pcm_s24le"
		case 32:
			return "pcm_s32le"
		}
		return fmt.Sprintf("pcm_%dle", bits)
	case 3:
		if bits == 64 {
			return "pcm_f64le"
		}
		return "pcm_f32le"
	case 6:
		return "pcm_alaw"
	case 7:
		return "pcm_mulaw"
	case 2:
		return "adpcm_ms"
	case 0x11:
		return "adpcm_ima_wav"
	case 0x31:
		return "gsm_ms"
	case 0x55:
		return "mp3"
	}
	return fmt.Sprintf("wav_0x%04x", format)
}
