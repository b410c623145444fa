package audio

// AMR-NB and AMR-WB storage format (RFC 4867 §5: "#!AMR\n", "#!AMR-WB\n"). Each frame is a
// ToC byte whose frame type gives its size, and 20 ms of audio. Frames are counted within
// countWindow bytes, then the rest is estimated from the average frame size.

var (
	amrNBSizes = [16]int{13, 14, 16, 18, 20, 21, 27, 32, 6, 1, 1, 1, 1, 1, 1, 1}
	amrWBSizes = [16]int{18, 24, 33, 37, 41, 47, 51, 59, 61, 6, 1, 1, 1, 1, 1, 1}
)

func probeAMR(s *src) (Info, error) {
	head, err := s.read(0, 9)
	if err != nil {
		return Info{}, err
	}
	info := Info{Container: "amr", Channels: 1}
	var (
		sizes *[16]int
		off   int64
	)
	if len(head) >= 9 && string(head[:9]) == "#!AMR-WB\n" {
		info.Codec, info.SampleRateHz, sizes, off = "amr_wb", 16000, &amrWBSizes, 9
	} else {
		info.Codec, info.SampleRateHz, sizes, off = "amr_nb", 8000, &amrNBSizes, 6
	}
	w, err := s.read(off, countWindow)
	if err != nil {
		return Info{}, err
	}
	frames, used, complete := countFrames(w, s.size-off, func(b []byte) (int, int, bool) {
		if b[0]&0x83 != 0 { // F bit and padding must be 0
			return 0, 0, false
		}
		return sizes[b[0]>>3&0x0F], 1, true
	})
	if used == 0 && s.size > off {
		return Info{}, unreadable("AMR header without valid frames")
	}
	info.DurationMS = int64(estimate(frames, used, s.size-off, complete)) * 20
	return info, nil
}
