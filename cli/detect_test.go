package cli

import (
	"bytes"
	"strings"
	"testing"
)

func TestDetectType(t *testing.T) {
	ftyp := func(brand string) string { return "\x00\x00\x00\x20ftyp" + brand + "\x00\x00\x00\x00" }
	for _, tc := range []struct {
		name, head, want string
	}{
		{"a.wav", "RIFF\x24\x00\x00\x00WAVEfmt ", "audio/wav"},
		{"voice memo.m4a", ftyp("M4A "), "audio/mp4"},
		{"video-ish.mp4", ftyp("isom"), "audio/mp4"},
		{"call.3gp", ftyp("3gp4"), "audio/3gpp"},
		{"call.3g2", ftyp("3g2a"), "audio/3gpp2"},
		{"song.mp3", "ID3\x04\x00", "audio/mpeg"},
		{"raw.mp3", "\xff\xfb\x90\x00", "audio/mpeg"},
		{"adts.aac", "\xff\xf1\x50\x80", "audio/aac"},
		{"x.flac", "fLaC\x00\x00", "audio/flac"},
		{"x.ogg", "OggS\x00\x02" + strings.Repeat("\x00", 22) + "\x01\x1evorbis", "audio/ogg"},
		{"x.opus", "OggS\x00\x02" + strings.Repeat("\x00", 22) + "OpusHead", "audio/opus"},
		{"x.webm", "\x1a\x45\xdf\xa3\x9f", "audio/webm"},
		{"x.amr", "#!AMR\n", "audio/amr"},
		{"x.awb", "#!AMR-WB\n", "audio/amr-wb"},
		// Content wins over a wrong extension: it is what storage will hold.
		{"misnamed.mp3", "RIFF\x24\x00\x00\x00WAVEfmt ", "audio/wav"},
		// Unrecognisable content falls back to the extension.
		{"headerless.WAV", "\x00\x01\x02\x03", "audio/wav"},
		{"empty.m4a", "", "audio/mp4"},
	} {
		got, err := detectType(tc.name, bytes.NewReader([]byte(tc.head)))
		if err != nil || got != tc.want {
			t.Errorf("%s: %q, %v; want %q", tc.name, got, err, tc.want)
		}
	}
	for _, name := range []string{"notes.txt", "photo.jpg", "noext"} {
		if got, err := detectType(name, bytes.NewReader([]byte("hello, world"))); err == nil {
			t.Errorf("%s detected as %q", name, got)
		}
	}
}
