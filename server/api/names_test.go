package api_test

import (
	"testing"

	"golang.org/x/text/unicode/norm"

	"github.com/voicerec/backend/internal/testenv"
	"github.com/voicerec/backend/internal/testenv/stack"
)

// A name is stored in NFC, on create and on rename, so the NFC and NFD
// spellings of one name (macOS writes NFD) are the same name everywhere.
func TestFileNamesAreStoredNormalized(t *testing.T) {
	t.Parallel()
	s := stack.Start(t, testenv.Get(t), stack.Options{})
	c, _ := login(t, s, "normalizer")
	nfc := "회의 café.wav"
	nfd := norm.NFD.String(nfc)
	if nfd == nfc {
		t.Fatal("test name has no decomposed form")
	}
	up := c.create(nfd, "audio/wav", 100)
	if up.Recording.FileName != nfc {
		t.Errorf("created as %q, want the NFC form %q", up.Recording.FileName, nfc)
	}
	r := c.do("PATCH", "/v1/recordings/"+up.Recording.ID, map[string]string{"file_name": norm.NFD.String("새 이름.wav")})
	wantStatus(t, r, 200)
	var got recordingJSON
	r.decode(t, &got)
	if got.FileName != "새 이름.wav" || !norm.NFC.IsNormalString(got.FileName) {
		t.Errorf("renamed to %q, want NFC", got.FileName)
	}
}
