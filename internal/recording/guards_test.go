package recording_test

import (
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
