package cli

import (
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestSafeName(t *testing.T) {
	long := strings.Repeat("가", 3333) + ".wav"
	for in, want := range map[string]string{
		"interview.wav":          "interview.wav",
		"회의 녹음 1.m4a":            "회의 녹음 1.m4a",
		"../../escape.wav":       "_.._escape.wav",
		"/etc/passwd":            "_etc_passwd",
		`..\..\x.wav`:            `_.._x.wav`,
		"nul\x00byte.wav":        "nul_byte.wav",
		"esc\x1b[31m.wav":        "esc_[31m.wav",
		"evil\u202ev4m.exe":      "evil_v4m.exe",
		"bad\xffutf8.wav":        "bad_utf8.wav",
		".hidden.wav":            "hidden.wav",
		"..":                     "recording",
		"...":                    "recording",
		"":                       "recording",
		"   ":                    "recording",
		"/":                      "recording_",
		"\x00":                   "recording_",
		".wav":                   "wav",
		" . x.wav":               "x.wav",
		strings.Repeat("x", 300): strings.Repeat("x", 255),
	} {
		if got := safeName(in); got != want {
			t.Errorf("safeName(%.60q) = %.60q, want %.60q", in, got, want)
		}
	}
	got := safeName(long)
	if len(got) > 255 || !utf8.ValidString(got) || !strings.HasSuffix(got, "가.wav") || len(got) < 250 {
		t.Errorf("a 10,003-byte Korean name became %d bytes: %q", len(got), got)
	}
	// A cut name with the id still fits and keeps its extension.
	got = withID(safeName(long), "01ARZ3NDEKTSV4RRFFQ69G5FAV")
	if len(got) > 255 || !utf8.ValidString(got) || !strings.HasSuffix(got, "가 (01ARZ3NDEKTSV4RRFFQ69G5FAV).wav") {
		t.Errorf("with its id: %d bytes: %q", len(got), got)
	}
	if got := withID("a.wav", "01ARZ3NDEKTSV4RRFFQ69G5FAV"); got != "a (01ARZ3NDEKTSV4RRFFQ69G5FAV).wav" {
		t.Errorf("withID: %q", got)
	}
	// An extension is only what looks like one.
	if in := strings.Repeat("y", 250) + "." + strings.Repeat("z", 40); safeName(in) != in[:255] {
		got := safeName(in)
		t.Errorf("a long tail after a dot was kept as an extension: %q", got)
	}
}

// Whatever reaches it, inFolder only names an entry directly in the folder.
func TestInFolderRefusesPathsOutOfTheFolder(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "dst")
	for _, name := range []string{"../x.wav", "a/../../x.wav", "a/b.wav", "/etc/x.wav", "", ".", "..", "x/"} {
		if got, err := inFolder(dir, name); err == nil {
			t.Errorf("inFolder(%q) = %q, want an error", name, got)
		}
	}
	for _, name := range []string{"a.wav", "..a.wav", "a (01ARZ3NDEKTSV4RRFFQ69G5FAV).wav", "회의.m4a"} {
		if got, err := inFolder(dir, name); err != nil || got != filepath.Join(dir, name) {
			t.Errorf("inFolder(%q) = %q, %v", name, got, err)
		}
	}
	if got, err := inFolder(".", "a.wav"); err != nil || got != "a.wav" {
		t.Errorf("inFolder(., a.wav) = %q, %v", got, err)
	}
}
