package api_test

import (
	"fmt"
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

// Names with DEL or a C1 control character are refused, at creation and at
// rename alike.
func TestFileNamesWithDELOrC1ControlsAreRefused(t *testing.T) {
	t.Parallel()
	s := stack.Start(t, testenv.Get(t), stack.Options{})
	tok, _ := s.Login(t, "names")
	c := newClient(t, s.APIURL, tok)
	id := c.create("fine.wav", "audio/wav", 10).Recording.ID
	for _, name := range []string{"del\x7f.wav", "nel\u0085.wav", "csi\u009b2J.wav"} {
		t.Run(fmt.Sprintf("%q", name), func(t *testing.T) {
			wantProblem(t, c.do("POST", "/v1/recordings", map[string]any{"file_name": name, "content_type": "audio/wav", "size_bytes": 10}),
				400, "invalid_file_name")
			wantProblem(t, c.do("PATCH", "/v1/recordings/"+id, map[string]any{"file_name": name}), 400, "invalid_file_name")
		})
	}
	if items := s.List(t, tok, "pending"); len(items) != 1 || items[0].FileName != "fine.wav" {
		t.Fatalf("pending recordings %v, want only fine.wav", items)
	}
}
