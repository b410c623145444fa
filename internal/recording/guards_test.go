package recording_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/voicerec/backend/internal/recording"
)

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

// The header is exact, not just decodable: RFC 5987 attr-chars (the first
// of them, '!', included) stand as they are in filename*, everything else
// is percent-encoded; the ASCII fallback replaces quotes, backslashes,
// controls and non-ASCII with '_' and keeps the space.
func TestContentDispositionExact(t *testing.T) {
	for _, tc := range []struct{ name, want string }{
		{"a!b.m4a", `attachment; filename="a!b.m4a"; filename*=UTF-8''a!b.m4a`},
		{"!#$&+-.^_`|~azAZ09", "attachment; filename=\"!#$&+-.^_`|~azAZ09\"; filename*=UTF-8''!#$&+-.^_`|~azAZ09"},
		{"a\"b\\c\x7fd~é", `attachment; filename="a_b_c_d~_"; filename*=UTF-8''a%22b%5Cc%7Fd~%C3%A9`},
		{"x\x1fy z", `attachment; filename="x_y z"; filename*=UTF-8''x%1Fy%20z`},
	} {
		if got := recording.ContentDisposition(tc.name); got != tc.want {
			t.Errorf("ContentDisposition(%q) =\n  %s\nwant\n  %s", tc.name, got, tc.want)
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

// An error's text carries its cause for logs, and nothing for a missing
// one (no "<nil>" in a log line).
func TestErrorTextCarriesTheCause(t *testing.T) {
	plain := recording.Errorf(recording.CodeNotFound, "no such recording")
	if got := plain.Error(); got != "not_found: no such recording" {
		t.Fatalf("without a cause: %q", got)
	}
	wrapped := &recording.Error{Code: recording.CodeUnavailable, Message: "storage is down", Err: errors.New("dial tcp: refused")}
	if got := wrapped.Error(); got != "service_unavailable: storage is down: dial tcp: refused" {
		t.Fatalf("with a cause: %q", got)
	}
}
