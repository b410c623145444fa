package audio

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// countingReader is an io.ReaderAt over data that counts what is asked of it and fails the
// test (through over) when the total passes MaxProbeBytes.
type countingReader struct {
	r     io.ReaderAt
	n     int64
	calls int
}

func (c *countingReader) ReadAt(p []byte, off int64) (int, error) {
	c.calls++
	c.n += int64(len(p))
	return c.r.ReadAt(p, off)
}

func (c *countingReader) over() bool { return c.n > MaxProbeBytes || c.calls > maxReads }

func readFixture(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func probeBytes(tb testing.TB, b []byte) (Info, error, *countingReader) {
	tb.Helper()
	c := &countingReader{r: bytes.NewReader(b)}
	info, err := Probe(context.Background(), c, int64(len(b)))
	if c.over() {
		tb.Fatalf("read %d bytes, more than MaxProbeBytes", c.n)
	}
	return info, err, c
}

// The fixtures come from testdata/make-fixtures.sh (ffmpeg 5.1). Each known duration is the
// source's length, or ffprobe's figure where the container adds to it (priming samples kept
// by fragmented MP4 without an edit list, whole frames in CBR MP3 and ADTS, Opus frames in
// WebM); frame is one codec frame, the tolerance.
var fixtures = []struct {
	file      string
	container string
	codec     string
	rate      int
	channels  int
	ms        int64
	frameMS   int64
}{
	{"wav_s16le.wav", "wav", "pcm_s16le", 8000, 1, 1000, 1},
	{"wav_s24_extensible.wav", "wav", "pcm_s24le", 8000, 1, 1000, 1},
	{"wav_3ch_extensible.wav", "wav", "pcm_s16le", 8000, 3, 500, 1},
	{"wav_rf64.wav", "wav", "pcm_s16le", 8000, 1, 500, 1},
	{"silent.wav", "wav", "pcm_s16le", 8000, 1, 1000, 1},
	{"m4a_moov_end.m4a", "mp4", "aac", 44100, 1, 1000, 23},
	{"m4a_faststart.m4a", "mp4", "aac", 44100, 1, 1000, 23},
	{"mp4_fragmented.mp4", "mp4", "aac", 48000, 1, 2021, 21},           // ffprobe 2.021333: 2 s + 1024 priming
	{"mp4_fragmented_notrailer.mp4", "mp4", "aac", 48000, 1, 2021, 21}, // no mfra, as browsers write it
	{"aac.3gp", "mp4", "aac", 16000, 1, 1000, 64},
	{"mp4_opus_fragmented.mp4", "mp4", "opus", 48000, 2, 1007, 20}, // ffprobe 1.0065; Chrome's audio/mp4
	{"mka_aac.mka", "webm", "aac", 44100, 2, 1023, 23},             // DocType matroska; ffprobe 1.023
	{"amr_nb.3gp", "mp4", "amr_nb", 8000, 1, 1000, 20},             // hand-made frames in ffmpeg's 3GP muxer
	{"amr_wb.3gp", "mp4", "amr_wb", 16000, 1, 1000, 20},
	{"amr_nb_handmade.amr", "amr", "amr_nb", 8000, 1, 1000, 20},
	{"amr_wb_handmade.awb", "amr", "amr_wb", 16000, 1, 1000, 20},
	{"webm_opus.webm", "webm", "opus", 48000, 1, 1008, 20},            // ffprobe 1.008
	{"webm_opus_noduration.webm", "webm", "opus", 48000, 1, 2020, 20}, // 101 packets of 20 ms
	// Chromium 156's MediaRecorder (testdata/chromium-mediarecorder.mjs): unknown-size Segment
	// and Clusters, no Duration, 60 ms packets; ffprobe: the last starts at 2.400 s.
	{"webm_chromium_mediarecorder.webm", "webm", "opus", 48000, 1, 2460, 60},
	{"ogg_opus.opus", "ogg", "opus", 48000, 1, 1000, 20},
	{"ogg_vorbis.ogg", "ogg", "vorbis", 22050, 1, 1000, 93},
	{"flac.flac", "flac", "flac", 8000, 1, 1000, 1},
	{"mp3_cbr.mp3", "mp3", "mp3", 22050, 1, 1071, 26},      // 41 frames of 576 samples
	{"mp3_vbr_xing.mp3", "mp3", "mp3", 22050, 2, 1000, 26}, // Xing frame count minus LAME delay/padding
	{"aac_adts.aac", "adts", "aac", 16000, 1, 1088, 64},    // 17 frames of 1024 samples
	{"lie_mp3_named.wav", "mp3", "mp3", 22050, 1, 1071, 26},
	{"lie_m4a_named.mp3", "mp4", "aac", 44100, 1, 1000, 23},
}

func TestProbeFixtures(t *testing.T) {
	for _, f := range fixtures {
		t.Run(f.file, func(t *testing.T) {
			b := readFixture(t, f.file)
			info, err, c := probeBytes(t, b)
			if err != nil {
				t.Fatalf("Probe: %v", err)
			}
			if info.Container != f.container || info.Codec != f.codec || info.SampleRateHz != f.rate || info.Channels != f.channels {
				t.Errorf("got %+v, want %s/%s %d Hz %d ch", info, f.container, f.codec, f.rate, f.channels)
			}
			if d := info.DurationMS - f.ms; d < -f.frameMS || d > f.frameMS {
				t.Errorf("duration %d ms, want %d ± %d", info.DurationMS, f.ms, f.frameMS)
			}
			if c.calls > 1 {
				t.Errorf("%d ReadAt calls for a file smaller than the head window", c.calls)
			}
		})
	}
}

func TestProbeRejects(t *testing.T) {
	m4a := readFixture(t, "m4a_moov_end.m4a")
	ogg := readFixture(t, "ogg_opus.opus")
	wav := readFixture(t, "wav_s16le.wav")
	webm := readFixture(t, "webm_opus_noduration.webm")
	for _, tc := range []struct {
		name   string
		body   []byte
		reason string
	}{
		{"empty", readFixture(t, "empty.wav"), ReasonNotAudio},
		{"text renamed .wav", readFixture(t, "lie_text.wav"), ReasonNotAudio},
		{"zeros", readFixture(t, "lie_zeros.wav"), ReasonNotAudio},
		{"one byte", []byte{0xFF}, ReasonNotAudio},
		{"random sync word", append([]byte{0xFF, 0xFB, 0x90, 0x00}, bytes.Repeat([]byte{'a'}, 100)...), ReasonNotAudio},
		{"m4a cut before moov", m4a[:3000], ReasonUnreadable},
		{"m4a header only", m4a[:10], ReasonUnreadable},
		{"ogg cut mid-page", ogg[:40], ReasonUnreadable},
		{"wav without data", wav[:36], ReasonUnreadable},
		{"webm headers cut", webm[:60], ReasonUnreadable},
		{"ID3 tag alone", []byte("ID3\x04\x00\x00\x00\x00\x00\x10" + string(make([]byte, 16))), ReasonUnreadable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			info, err, _ := probeBytes(t, tc.body)
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("got %+v, %v; want an *Error", info, err)
			}
			if e.Reason != tc.reason {
				t.Errorf("reason %q (%v), want %q", e.Reason, err, tc.reason)
			}
		})
	}
}

// A silent recording is a recording.
func TestSilenceIsAudio(t *testing.T) {
	info, err, _ := probeBytes(t, readFixture(t, "silent.wav"))
	if err != nil || info.DurationMS != 1000 {
		t.Fatalf("got %+v, %v", info, err)
	}
	// A WAV header with no samples at all: valid, 0 ms.
	wav := readFixture(t, "wav_s16le.wav")
	hdr := append([]byte(nil), wav[:44]...)
	hdr[40], hdr[41], hdr[42], hdr[43] = 0, 0, 0, 0
	if info, err, _ = probeBytes(t, hdr); err != nil || info.DurationMS != 0 {
		t.Fatalf("empty WAV: got %+v, %v", info, err)
	}
}

func TestProbeContextCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	b := readFixture(t, "wav_s16le.wav")
	_, err := Probe(ctx, bytes.NewReader(b), int64(len(b)))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
	var e *Error
	if errors.As(err, &e) {
		t.Fatalf("got %v, a verdict on the body; want the context's error alone", err)
	}
}

// A failing ranged GET is not a verdict on the body either.
func TestProbeReadError(t *testing.T) {
	b := readFixture(t, "m4a_moov_end.m4a")
	_, err := Probe(context.Background(), bytes.NewReader(b[:100]), int64(len(b)))
	var e *Error
	if err == nil || errors.As(err, &e) || !errors.Is(err, io.EOF) {
		t.Fatalf("got %v; want the ReaderAt's io.EOF, not an *Error", err)
	}
}

// AMR: ffmpeg here has no AMR encoder (only decoders), so these bodies are synthesised: the
// storage format header and frames of the sizes RFC 4867 gives, as a phone's DTX would
// produce them (speech frames, SID frames, NO_DATA frames; zero payloads). ffprobe splits
// the same bytes into the same number of frames (75 and 150).
func amrBody(wb bool, frames int) []byte {
	var b bytes.Buffer
	sizes, speech := &amrNBSizes, byte(7)
	if wb {
		b.WriteString("#!AMR-WB\n")
		sizes, speech = &amrWBSizes, 8
	} else {
		b.WriteString("#!AMR\n")
	}
	for i := 0; i < frames; i++ {
		ft := speech
		switch i % 10 {
		case 7:
			ft = 9 - 1 // SID for both: NB 8, WB 9 below
			if wb {
				ft = 9
			}
		case 8:
			ft = 15 // NO_DATA
		}
		b.WriteByte(ft<<3 | 0x04)
		b.Write(make([]byte, sizes[ft]-1))
	}
	return b.Bytes()
}

func TestAMR(t *testing.T) {
	for _, tc := range []struct {
		wb     bool
		frames int
		codec  string
		rate   int
	}{{false, 75, "amr_nb", 8000}, {true, 150, "amr_wb", 16000}, {false, 0, "amr_nb", 8000}} {
		info, err, _ := probeBytes(t, amrBody(tc.wb, tc.frames))
		if err != nil {
			t.Fatal(err)
		}
		want := Info{Container: "amr", Codec: tc.codec, SampleRateHz: tc.rate, Channels: 1, DurationMS: int64(tc.frames) * 20}
		if info != want {
			t.Errorf("got %+v, want %+v", info, want)
		}
	}
}

func TestTypeMatches(t *testing.T) {
	info := map[string]Info{}
	for _, f := range fixtures {
		i, err, _ := probeBytes(t, readFixture(t, f.file))
		if err != nil {
			t.Fatal(err)
		}
		info[f.file] = i
	}
	amr, _, _ := probeBytes(t, amrBody(false, 10))
	amrwb, _, _ := probeBytes(t, amrBody(true, 10))
	info["nb.amr"], info["wb.amr"] = amr, amrwb
	for _, tc := range []struct {
		ct, file string
		want     bool
	}{
		{"audio/mp4", "m4a_moov_end.m4a", true},
		{"audio/mp4", "mp4_fragmented.mp4", true},
		{"audio/mp4", "aac.3gp", true},
		{"audio/3gpp", "aac.3gp", true},
		{"audio/3gpp", "m4a_faststart.m4a", true}, // phones mix 3GP and MP4 brands
		{"audio/3gpp2", "aac.3gp", true},
		{"audio/3gpp", "nb.amr", true},
		{"audio/3gpp", "amr_nb.3gp", true},
		{"audio/amr", "amr_nb.3gp", true},
		{"audio/amr-wb", "amr_wb.3gp", true},
		{"audio/amr", "amr_wb_handmade.awb", false},
		{"audio/amr-wb", "amr_wb_handmade.awb", true},
		{"audio/aac", "aac_adts.aac", true},
		{"audio/aac", "m4a_moov_end.m4a", true},
		{"audio/mpeg", "mp3_cbr.mp3", true},
		{"audio/mpeg", "lie_mp3_named.wav", true},
		{"audio/wav", "lie_mp3_named.wav", false},
		{"audio/mpeg", "lie_m4a_named.mp3", false},
		{"audio/wav", "wav_s24_extensible.wav", true},
		{"audio/wav", "wav_rf64.wav", true},
		{"audio/ogg", "ogg_opus.opus", true},
		{"audio/opus", "ogg_opus.opus", true},
		{"audio/ogg", "ogg_vorbis.ogg", true},
		{"audio/opus", "ogg_vorbis.ogg", true},
		{"audio/webm", "webm_opus.webm", true},
		{"audio/webm;codecs=opus", "webm_opus_noduration.webm", true},
		{"audio/ogg", "webm_opus.webm", false},
		{"audio/flac", "flac.flac", true},
		{"audio/flac", "wav_s16le.wav", false},
		{"audio/amr", "nb.amr", true},
		{"audio/amr", "wb.amr", false},
		{"audio/amr-wb", "wb.amr", true},
		{"audio/webm", "m4a_moov_end.m4a", false},
		{"audio/webm", "mka_aac.mka", true},
		{"audio/mp4", "mp4_opus_fragmented.mp4", true},
		{"audio/mp4", "webm_opus.webm", false},
		{"audio/x-unknown", "wav_s16le.wav", false},
		{"AUDIO/WAV", "wav_s16le.wav", true},
	} {
		if got := TypeMatches(tc.ct, info[tc.file]); got != tc.want {
			t.Errorf("TypeMatches(%q, %s %+v) = %v, want %v", tc.ct, tc.file, info[tc.file], got, tc.want)
		}
	}
}

// FLAC written without seeking back has total samples 0 in STREAMINFO: the last frame header
// in the tail gives the duration.
func TestFLACUnknownTotal(t *testing.T) {
	b := append([]byte(nil), readFixture(t, "flac.flac")...)
	si := b[8:]
	si[13] &^= 0x0F
	si[14], si[15], si[16], si[17] = 0, 0, 0, 0
	info, err, _ := probeBytes(t, b)
	if err != nil || info.DurationMS != 1000 {
		t.Fatalf("got %+v, %v; want 1000 ms", info, err)
	}
}

// An MP3 whose ID3v2 tag (cover art) is larger than the head window: the frames after it
// are found with two small reads.
func TestMP3BehindLargeID3(t *testing.T) {
	mp3 := readFixture(t, "mp3_vbr_xing.mp3")
	id3, _ := id3Size(mp3)
	const tag = 3 << 20
	hdr := []byte{'I', 'D', '3', 4, 0, 0, byte(tag >> 21 & 0x7F), byte(tag >> 14 & 0x7F), byte(tag >> 7 & 0x7F), byte(tag & 0x7F)}
	body := append(append(append([]byte(nil), hdr...), make([]byte, tag)...), mp3[id3:]...)
	info, err, c := probeBytes(t, body)
	if err != nil || info.Codec != "mp3" || info.DurationMS != 1000 {
		t.Fatalf("got %+v, %v", info, err)
	}
	if c.n > 2*headWindow {
		t.Errorf("read %d bytes", c.n)
	}
}

// A moov larger than the head window (long recordings have large sample tables), at the end
// of the file: its small boxes are read, its tables are not.
func TestMP4LargeMoov(t *testing.T) {
	f := readFixture(t, "m4a_moov_end.m4a")
	offs, types := topBoxes(f)
	moov := boxAt(offs, types, "moov", 0)
	// Grow moov with a 2 MiB free box at its end (where a real file has stsz/stco, inside
	// stbl; the walker reads neither).
	const pad = 2 << 20
	m := append([]byte(nil), f[moov:]...)
	free := make([]byte, pad)
	put32(free, pad)
	copy(free[4:], "free")
	m = append(m, free...)
	put32(m, uint32(len(m)))
	body := append(append([]byte(nil), f[:moov]...), m...)
	info, err, c := probeBytes(t, body)
	if err != nil || info.DurationMS != 1000 || info.Codec != "aac" {
		t.Fatalf("got %+v, %v", info, err)
	}
	t.Logf("%d bytes in %d reads", c.n, c.calls)
}

func mp4Box(typ string, parts ...[]byte) []byte {
	b := make([]byte, 8)
	copy(b[4:], typ)
	for _, p := range parts {
		b = append(b, p...)
	}
	put32(b, uint32(len(b)))
	return b
}

func u32s(vs ...uint32) []byte {
	b := make([]byte, 4*len(vs))
	for i, v := range vs {
		put32(b[4*i:], v)
	}
	return b
}

// Chrome's and Safari's MediaRecorder write a duration per sample in trun (ffmpeg, in the
// fixtures, uses tfhd's default): both are summed, and a sample count larger than the box
// never drives the loop past its bytes.
func TestMoofPerSampleDurations(t *testing.T) {
	tfhd := mp4Box("tfhd", u32s(0x020000, 1))
	tfdt := mp4Box("tfdt", u32s(0x01000000, 0, 96000))
	trun := mp4Box("trun", u32s(0x000301, 3, 0, 960, 100, 960, 90, 1000, 80))
	moof := mp4Box("moof", mp4Box("mfhd", u32s(0, 7)), mp4Box("traf", tfhd, tfdt, trun))
	m := parseMoof(moof[8:], &mp4Track{id: 1})
	if !m.found || !m.hasTfdt || m.tfdt != 96000 || m.dur != 2920 {
		t.Fatalf("got %+v", m)
	}
	// Another track's fragment is not ours.
	if m := parseMoof(moof[8:], &mp4Track{id: 2}); m.found {
		t.Fatalf("track 2: got %+v", m)
	}
	// A count of 2^32-1 over two entries' worth of bytes.
	lying := mp4Box("trun", u32s(0x000100, 0xFFFFFFFF, 500, 500))
	moof = mp4Box("moof", mp4Box("traf", tfhd, lying))
	if m := parseMoof(moof[8:], &mp4Track{id: 1}); m.dur != 1000 {
		t.Fatalf("lying count: got %+v", m)
	}
}

// A body of a hundred thousand empty boxes before its moov costs at most maxReads calls and
// is unreadable, not a hundred thousand ranged GETs.
func TestManyTinyBoxes(t *testing.T) {
	f := readFixture(t, "m4a_faststart.m4a")
	free := mp4Box("free")
	body := append([]byte(nil), f[:28]...) // ftyp
	for i := 0; i < 100000; i++ {
		body = append(body, free...)
	}
	body = append(body, f[28:]...)
	_, err, c := probeBytes(t, body)
	var e *Error
	if !errors.As(err, &e) || e.Reason != ReasonUnreadable {
		t.Fatalf("got %v after %d reads", err, c.calls)
	}
}
