package recording_test

import (
	"strings"
	"testing"
	"time"

	"github.com/voicerec/backend/internal/recording"
)

func TestValidateFileName(t *testing.T) {
	cases := []struct {
		name string
		ok   bool
	}{
		{"memo.m4a", true},
		{"회의 녹음 2026-11-24.m4a", true},
		{"a+b & c (1).wav", true},
		{strings.Repeat("가", 255), true},
		{strings.Repeat("가", 256), false},
		{"", false},
		{"   ", false},
		{"a/b.m4a", false},
		{`a\b.m4a`, false},
		{"..", false},
		{"tab\there", false},
		{"new\nline", false},
		{"nul\x00", false},
		{"bad\xffutf8", false},
		{"line\u2028sep", false},
	}
	for _, tc := range cases {
		err := recording.ValidateFileName(tc.name)
		if (err == nil) != tc.ok {
			t.Errorf("ValidateFileName(%q) = %v, want ok=%v", tc.name, err, tc.ok)
		}
		if err != nil && recording.ErrorCode(err) != recording.CodeInvalidFileName {
			t.Errorf("ValidateFileName(%q) code %s", tc.name, recording.ErrorCode(err))
		}
	}
}

func TestNormalizeContentType(t *testing.T) {
	cases := []struct{ in, want, ext string }{
		{"audio/mp4", "audio/mp4", ".m4a"},
		{"audio/x-m4a", "audio/mp4", ".m4a"},
		{"AUDIO/X-M4A", "audio/mp4", ".m4a"},
		{"audio/mpeg", "audio/mpeg", ".mp3"},
		{"audio/mp3", "audio/mpeg", ".mp3"},
		{"audio/aac", "audio/aac", ".aac"},
		{"audio/x-wav", "audio/wav", ".wav"},
		{"audio/ogg; codecs=opus", "audio/ogg", ".ogg"},
		{"audio/opus", "audio/opus", ".opus"},
		{"audio/webm", "audio/webm", ".webm"},
		{"audio/flac", "audio/flac", ".flac"},
		{"audio/3gpp", "audio/3gpp", ".3gp"},
		{"audio/amr", "audio/amr", ".amr"},
		{"video/mp4", "", ""},
		{"text/plain", "", ""},
		{"", "", ""},
	}
	for _, tc := range cases {
		got, ext, err := recording.NormalizeContentType(tc.in)
		if tc.want == "" {
			if recording.ErrorCode(err) != recording.CodeUnsupportedType {
				t.Errorf("%q: want unsupported, got %q %v", tc.in, got, err)
			}
			continue
		}
		if err != nil || got != tc.want || ext != tc.ext {
			t.Errorf("%q: got %q %q %v, want %q %q", tc.in, got, ext, err, tc.want, tc.ext)
		}
	}
}

func TestKeyLayout(t *testing.T) {
	now := time.Now()
	uid, rid := recording.NewID(now), recording.NewID(now)
	key := recording.ObjectKey(uid, rid, ".m4a")
	if gu, gr, ok := recording.ParseKey(key); !ok || gu != uid || gr != rid {
		t.Fatalf("ParseKey(%q) = %q %q %v", key, gu, gr, ok)
	}
	for _, bad := range []string{"", "recordings/", "recordings/" + uid, "other/" + uid + "/" + rid,
		"recordings/" + uid + "/회의 녹음 a+b.m4a", "recordings/../" + rid, "recordings/" + uid + "/" + rid + "/x"} {
		if _, _, ok := recording.ParseKey(bad); ok {
			t.Errorf("ParseKey(%q) accepted a key outside the layout", bad)
		}
	}
	if recording.ValidID("not-an-id") || recording.ValidID(strings.ToLower(rid)+"x") {
		t.Error("ValidID accepted junk")
	}
	a, b := recording.NewID(now), recording.NewID(now.Add(time.Millisecond))
	if !(a < b) {
		t.Errorf("ids are not time-ordered: %s !< %s", a, b)
	}
}

// Names that would lie on screen or in a download are refused: bidi
// controls (ev\u202eil4pm.exe shows as evilexe.mp4), names with nothing
// visible, and names over the byte bound even when under the rune bound.
func TestValidateFileNameRefusesLyingNames(t *testing.T) {
	for _, name := range []string{
		"ev\u202eil4pm.exe", "a\u202ab", "a\u202bb", "a\u202cb", "a\u202db",
		"a\u2066b", "a\u2067b", "a\u2068b", "a\u2069b", "a\u200eb", "a\u200fb", "a\u061cb",
		"\u200b", "\u200b\u200c\u200d", "\ufeff", "\u3164", " \u200b ", "\u2060\u2060",
		strings.Repeat("\U0001F600", 200), // 200 runes, 800 bytes
	} {
		err := recording.ValidateFileName(name)
		if recording.ErrorCode(err) != recording.CodeInvalidFileName {
			t.Errorf("ValidateFileName(%.40q) = %v, want %s", name, err, recording.CodeInvalidFileName)
		}
	}
	for _, name := range []string{
		"memo\u200d.m4a",                  // a zero-width joiner next to visible text is fine
		"👩\u200d💻 회의.m4a",                 // emoji ZWJ sequence
		strings.Repeat("가", 255),          // 765 bytes: a full-length Korean name still fits
		strings.Repeat("\U0001F600", 192), // exactly MaxFileNameBytes
	} {
		if err := recording.ValidateFileName(name); err != nil {
			t.Errorf("ValidateFileName(%+q) = %v, want ok", name, err)
		}
	}
}

// The NFC and NFD spellings of one name normalize to the same stored name.
func TestNormalizeFileNameNFC(t *testing.T) {
	nfc := "caf\u00e9 \uac00.m4a"        // é and 가 precomposed
	nfd := "cafe\u0301 \u1100\u1161.m4a" // e + combining acute, ᄀ + ᅡ
	for _, in := range []string{nfc, nfd} {
		got, err := recording.NormalizeFileName(in)
		if err != nil || got != nfc {
			t.Errorf("NormalizeFileName(%+q) = %+q, %v; want %+q", in, got, err, nfc)
		}
	}
	if _, err := recording.NormalizeFileName("a\u202eb"); recording.ErrorCode(err) != recording.CodeInvalidFileName {
		t.Errorf("bidi control: %v", err)
	}
}

// Every control character is refused, not only the C0 range: DEL and the C1
// controls (U+0080 to U+009F, NEL among them) break terminals and logs just
// as well, and a check for "below 0x20" would let them through.
func TestFileNameRefusesDELAndC1Controls(t *testing.T) {
	for _, name := range []string{
		"del\x7f.m4a", "\x7f", "nel\u0085.m4a", "\u0080start", "end\u009f", "csi\u009b[2J.m4a",
	} {
		err := recording.ValidateFileName(name)
		if recording.ErrorCode(err) != recording.CodeInvalidFileName || err == nil {
			t.Errorf("ValidateFileName(%q) = %v, want %s", name, err, recording.CodeInvalidFileName)
		}
	}
	// Their printable neighbours stay allowed.
	for _, name := range []string{"tilde~.m4a", "nbsp\u00a0.m4a", "é.m4a"} {
		if err := recording.ValidateFileName(name); err != nil {
			t.Errorf("ValidateFileName(%q) = %v, want ok", name, err)
		}
	}
}

// A name far over the bounds is refused before normalizing, but the cut-off
// for that is well above the limits a person meets: a name of exactly four
// times MaxFileNameBytes is still told its limit in characters, the one
// a user can count.
func TestFileNameLimitMessageAtTheEarlyCutOff(t *testing.T) {
	_, err := recording.NormalizeFileName(strings.Repeat("a", 4*recording.MaxFileNameBytes))
	if recording.ErrorCode(err) != recording.CodeInvalidFileName || !strings.Contains(err.Error(), "characters") {
		t.Fatalf("%d-byte name: %v, want invalid_file_name naming the character limit", 4*recording.MaxFileNameBytes, err)
	}
	_, err = recording.NormalizeFileName(strings.Repeat("a", 4*recording.MaxFileNameBytes+1))
	if recording.ErrorCode(err) != recording.CodeInvalidFileName || !strings.Contains(err.Error(), "bytes") {
		t.Fatalf("one byte more: %v, want the early byte bound", err)
	}
}
