package devtranscribe_test

import (
	"archive/zip"
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/voicerec/backend/client"
)

// An export carries the transcripts the completion path stored, with no
// test double between them: the composition root hands the export worker
// the same transcript store GET .../transcript reads.
func TestExportCarriesStoredTranscripts(t *testing.T) {
	s := heldStack(t, nil)
	token, userID := s.Login(t, "exporter")
	id := upload(t, s, token, "testdata/librivox/clip-0880.wav", map[string]any{"language": "auto"})
	s.WaitStatus(t, token, id, "available")
	finish(t, s, userID, id, jobOf(t, s, userID, id), "korean.json")

	var ex client.Export
	if st := s.Call(t, token, http.MethodPost, "/v1/exports", map[string]any{}, &ex); st != http.StatusAccepted {
		t.Fatalf("start export: %d", st)
	}
	deadline := time.Now().Add(30 * time.Second)
	for ex.Status == "running" && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
		if st := s.Call(t, token, http.MethodGet, "/v1/exports/"+ex.ID, nil, &ex); st != http.StatusOK {
			t.Fatalf("export: %d", st)
		}
	}
	if ex.Status != "ready" || ex.Download == nil {
		t.Fatalf("export did not become ready: %+v", ex)
	}
	resp, err := http.Get(ex.Download.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("download: %d %v", resp.StatusCode, err)
	}
	zr, err := zip.NewReader(bytes.NewReader(body), int64(len(body)))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range zr.File {
		names = append(names, f.Name)
		if !strings.HasSuffix(f.Name, ".txt") {
			continue
		}
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		text, _ := io.ReadAll(rc)
		rc.Close()
		if strings.Contains(string(text), "회의실에서 예산 회의를") {
			return
		}
		t.Fatalf("%s holds %q, not the stored transcript", f.Name, text)
	}
	t.Fatalf("the archive holds no transcript: %v", names)
}
