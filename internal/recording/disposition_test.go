package recording_test

import (
	"mime"
	"strings"
	"testing"

	"github.com/voicerec/backend/internal/recording"
)

func TestContentDisposition(t *testing.T) {
	for _, name := range []string{"memo.m4a", "회의 녹음 a+b.m4a", `quote"back\slash.wav`, "100% done;.mp3"} {
		h := recording.ContentDisposition(name)
		typ, params, err := mime.ParseMediaType(h)
		if err != nil || typ != "attachment" {
			t.Fatalf("%q: header %q: %v", name, h, err)
		}
		if params["filename"] != name {
			t.Errorf("%q: header %q decodes to %q", name, h, params["filename"])
		}
		if !strings.Contains(h, `filename="`) {
			t.Errorf("%q: no ASCII fallback in %q", name, h)
		}
		for _, r := range h {
			if r > 0x7e {
				t.Errorf("%q: header %q is not ASCII", name, h)
				break
			}
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
