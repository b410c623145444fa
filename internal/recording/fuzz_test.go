package recording_test

import (
	"mime"
	"strings"
	"testing"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/voicerec/backend/internal/recording"
)

// Hostile names never panic, and whatever passes validation is safe to put
// in a header: it decodes back to itself and carries no raw control bytes.
func FuzzFileName(f *testing.F) {
	for _, s := range []string{"memo.m4a", "회의 녹음 a+b.m4a", "", "..", "a/b", "\x00", "\xff\xfe", `"quoted"`, "a\r\nSet-Cookie: x",
		"ev\u202eil4pm.exe", "\u200b", "cafe\u0301.m4a", "\u3164"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		// What NormalizeFileName returns is NFC, within both bounds, free of
		// bidi controls, and normalizes to itself.
		if n, err := recording.NormalizeFileName(name); err == nil {
			if !norm.NFC.IsNormalString(n) || len(n) > recording.MaxFileNameBytes ||
				utf8.RuneCountInString(n) > recording.MaxFileNameLength || strings.ContainsAny(n, "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c") {
				t.Fatalf("NormalizeFileName(%q) = %q", name, n)
			}
			if again, err := recording.NormalizeFileName(n); err != nil || again != n {
				t.Fatalf("not idempotent: %q -> %q -> %q, %v", name, n, again, err)
			}
		}
		if err := recording.ValidateFileName(name); err != nil {
			if recording.ErrorCode(err) != recording.CodeInvalidFileName {
				t.Fatalf("code %s", recording.ErrorCode(err))
			}
			return
		}
		if !utf8.ValidString(name) || strings.ContainsAny(name, "/\\\r\n\x00") {
			t.Fatalf("accepted %q", name)
		}
		h := recording.ContentDisposition(name)
		if strings.ContainsAny(h, "\r\n") {
			t.Fatalf("header injection via %q: %q", name, h)
		}
		if _, params, err := mime.ParseMediaType(h); err != nil || params["filename"] != name {
			t.Fatalf("%q -> %q -> %q (%v)", name, h, params["filename"], err)
		}
	})
}

func FuzzContentType(f *testing.F) {
	for _, s := range []string{"audio/mp4", "audio/ogg; codecs=opus", "AUDIO/X-M4A", ";;;", "audio/", "text/html"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, ct string) {
		canon, ext, err := recording.NormalizeContentType(ct)
		if err != nil {
			if recording.ErrorCode(err) != recording.CodeUnsupportedType {
				t.Fatalf("code %s", recording.ErrorCode(err))
			}
			return
		}
		if !strings.HasPrefix(canon, "audio/") || !strings.HasPrefix(ext, ".") {
			t.Fatalf("%q -> %q %q", ct, canon, ext)
		}
	})
}

func FuzzParseKey(f *testing.F) {
	f.Add("recordings/01JUSER0000000000000000000/01JREC00000000000000000000.m4a")
	f.Add("recordings/u1/회의 녹음 a+b.m4a")
	f.Add("recordings//")
	f.Fuzz(func(t *testing.T, key string) {
		uid, rid, ok := recording.ParseKey(key)
		if !ok {
			return
		}
		if !recording.ValidID(uid) || !recording.ValidID(rid) || !strings.HasPrefix(key, recording.UserPrefix(uid)+rid) {
			t.Fatalf("%q parsed as %q %q", key, uid, rid)
		}
	})
}
