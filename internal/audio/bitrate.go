package audio

import (
	"strconv"
	"strings"

	"github.com/voicerec/backend/internal/recording"
)

// Durations mostly come from header fields (a FLAC sample count, an MP3 Xing frame count, an
// MP4 mvhd, an Ogg granule position, a WebM Duration), which a body can forge at no cost. Its
// size it cannot: at the lowest bitrate any encoder of the codec writes, the body's bytes hold
// at most so many milliseconds. The floors are meant to reject only the impossible, so they
// count silence at its cheapest (DTX, empty frames, constant subframes) and leave the
// container's own overhead out; docs/audio.md tabulates them.

// checkDuration rejects a measured duration that the body cannot hold or that is longer than
// the longest recording accepted.
func checkDuration(info Info, size int64) error {
	if info.DurationMS > recording.MaxDurationMS {
		return unreadable("duration of %d ms is longer than the longest recording accepted (%d ms)",
			info.DurationMS, int64(recording.MaxDurationMS))
	}
	floor := floorBitrate(info)
	// One millisecond more than the bytes hold absorbs durMS's rounding: an exact PCM body
	// sits at its floor.
	most := float64(size)*8*1000/floor + 1
	if float64(info.DurationMS) > most {
		return unreadable("%d bytes cannot hold %d ms of %s (its encoders write at least %.4g bit/s)",
			size, info.DurationMS, info.Codec, floor)
	}
	return nil
}

// anyCodecFloor is the floor for a codec without its own: under every speech codec in use
// (the lowest, Codec 2, writes 450 bit/s).
const anyCodecFloor = 100

// floorBitrate is the lowest bitrate, in bit/s, that any real encoder of info's codec writes.
func floorBitrate(info Info) float64 {
	rate := float64(info.SampleRateHz)
	ch := float64(max(info.Channels, 1))
	perSample := func(bits float64) float64 { // floors that scale with the sample rate
		if rate <= 0 {
			return anyCodecFloor
		}
		return rate * bits
	}
	switch c := info.Codec; {
	case c == "mp1" || c == "mp2" || c == "mp3":
		// The lowest bitrate of the MPEG audio tables (MPEG-2.5 layer III); every frame of a
		// VBR stream has one of the tables' bitrates too.
		return 8000
	case c == "ac3":
		return 32000 // the lowest frmsizecod
	case c == "amr_nb" || c == "amr_wb":
		return 400 // one 1-byte NO_DATA frame per 20 ms: DTX silence
	case c == "opus":
		// A 2-byte code-3 packet carries up to 120 ms (silence, or DTX's empty frames).
		return 16.0 / 0.120
	case c == "aac":
		// A silent AAC frame is about 4 bytes; HE-AAC frames are 2048 samples.
		return perSample(32.0 / 2048)
	case c == "vorbis":
		// A packet of at least 1 byte per long block (at most 8192 samples, 4096 new ones).
		return perSample(8.0 / 4096)
	case c == "flac" || c == "alac":
		// A frame holds at most 65,536 samples in at least 80 bits of header and CRCs and 8
		// bits per channel of constant subframes (digital silence).
		return perSample((80 + 8*ch) / 65536)
	case c == "adpcm_ms" || c == "adpcm_ima_wav":
		return perSample(4 * ch)
	case c == "gsm_ms":
		return perSample(65 * 8.0 / 320) // 65 bytes per 320 samples: 13 kbit/s at 8 kHz
	case strings.HasPrefix(c, "pcm"):
		return perSample(pcmBits(c) * ch)
	}
	return anyCodecFloor
}

// pcmBits is the bits per sample of a PCM codec name ("pcm_s16le", "pcm_u8", "pcm_f32le",
// "pcm_12le"); 8, the smallest real sample, where the name does not say.
func pcmBits(codec string) float64 {
	digits := strings.TrimRight(strings.TrimLeft(strings.TrimPrefix(codec, "pcm_"), "suf"), "lbe")
	if n, err := strconv.Atoi(digits); err == nil && n > 0 {
		return float64(n)
	}
	return 8
}
