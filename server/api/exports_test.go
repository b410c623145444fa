package api_test

import (
	"archive/zip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/voicerec/backend/internal/dynamo"
	"github.com/voicerec/backend/internal/export"
	"github.com/voicerec/backend/internal/testenv"
	"github.com/voicerec/backend/internal/testenv/stack"
)

type exportJSON struct {
	ID              string    `json:"id"`
	Status          string    `json:"status"`
	RecordingsDone  int       `json:"recordings_done"`
	RecordingsTotal int       `json:"recordings_total"`
	SizeBytes       *int64    `json:"size_bytes"`
	ExpiresAt       time.Time `json:"expires_at"`
	FailureReason   string    `json:"failure_reason"`
	Download        *struct {
		URL      string `json:"url"`
		FileName string `json:"file_name"`
	} `json:"download"`
}

// heldTranscripts is a transcript store whose first answer waits until
// released, so a test can look at an export while it runs.
type heldTranscripts struct {
	texts   map[string]export.Transcript
	mu      sync.Mutex
	release chan struct{}
	reached chan struct{}
	once    sync.Once
}

func (h *heldTranscripts) Transcript(ctx context.Context, _, id string) (export.Transcript, bool, error) {
	h.once.Do(func() { close(h.reached) })
	select {
	case <-h.release:
	case <-ctx.Done():
		return export.Transcript{}, false, ctx.Err()
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	t, ok := h.texts[id]
	return t, ok, nil
}

func (c *client) uploadRecordedAt(name, ct string, body []byte, recordedAt time.Time) recordingJSON {
	c.t.Helper()
	r := c.do("POST", "/v1/recordings", map[string]any{
		"file_name": name, "content_type": ct, "size_bytes": len(body), "recorded_at": recordedAt,
	})
	wantStatus(c.t, r, 201)
	var up createJSON
	r.decode(c.t, &up)
	putBytes(c.t, up, body)
	return c.waitAvailable(up.Recording.ID)
}

func (c *client) waitExport(id string) exportJSON {
	c.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		r := c.do("GET", "/v1/exports/"+id, nil)
		wantStatus(c.t, r, 200)
		var ex exportJSON
		r.decode(c.t, &ex)
		if ex.Status != "running" {
			return ex
		}
		time.Sleep(50 * time.Millisecond)
	}
	c.t.Fatalf("export %s still running after 30s", id)
	return exportJSON{}
}

// An export is one ZIP of every available recording: each under its own
// name (duplicates told apart, Korean names kept as UTF-8), stored, dated
// when it was recorded, its transcript beside it, and a manifest whose
// SHA-256s match; Go's archive/zip and the system's unzip both accept it.
func TestExportArchive(t *testing.T) {
	t.Parallel()
	tr := &heldTranscripts{texts: map[string]export.Transcript{}, release: make(chan struct{}), reached: make(chan struct{})}
	s := stack.Start(t, testenv.Get(t), stack.Options{Transcripts: tr})
	c, uid := login(t, s, "exporter")

	recordedAt := time.Date(2024, 3, 1, 9, 30, 0, 0, time.UTC)
	bodies := map[string][]byte{}
	var ids []string
	for i, name := range []string{"회의 녹음.m4a", "회의 녹음.m4a", "Memo.wav", "memo.wav"} {
		ct := "audio/mp4"
		if filepath.Ext(name) == ".wav" {
			ct = "audio/wav"
		}
		body := audioBytes(ct, 20_000+i*1000)
		rec := c.uploadRecordedAt(name, ct, body, recordedAt.Add(time.Duration(i)*time.Hour))
		bodies[rec.ID] = body
		ids = append(ids, rec.ID)
	}
	tr.texts[ids[0]] = export.Transcript{Text: "안녕하세요, 회의를 시작합니다.", Segments: json.RawMessage(`[{"start_ms":0,"end_ms":1800,"text":"안녕하세요"}]`)}
	trashed := c.upload("trashed.m4a", "audio/mp4", audioBytes("audio/mp4", 9000))
	wantStatus(t, c.do("DELETE", "/v1/recordings/"+trashed.ID, nil), 200)

	r := c.do("POST", "/v1/exports", nil)
	wantStatus(t, r, 202)
	var started exportJSON
	r.decode(t, &started)
	if started.Status != "running" || r.header.Get("Location") != "/v1/exports/"+started.ID {
		t.Fatalf("started: %+v, Location %q", started, r.header.Get("Location"))
	}
	<-tr.reached
	if p := c.do("POST", "/v1/exports", map[string]any{"include_transcripts": false}); p.status != 409 || p.problem(t).Code != "conflict" {
		t.Errorf("a second export while one runs: %d %s", p.status, p.body)
	}
	running := c.do("GET", "/v1/exports/"+started.ID, nil)
	wantStatus(t, running, 200)
	var mid exportJSON
	running.decode(t, &mid)
	if mid.Status != "running" || mid.RecordingsTotal != 4 || mid.Download != nil {
		t.Errorf("while running: %+v", mid)
	}
	close(tr.release)

	ex := c.waitExport(started.ID)
	wantName := "recordings-" + time.Now().UTC().Format("2006-01-02") + ".zip"
	if ex.Status != "ready" || ex.Download == nil || ex.Download.FileName != wantName || ex.SizeBytes == nil ||
		ex.RecordingsDone != 4 || ex.RecordingsTotal != 4 {
		t.Fatalf("ready export: %+v", ex)
	}
	if left := ex.ExpiresAt.Sub(time.Now()); left < 167*time.Hour || left > 169*time.Hour {
		t.Errorf("kept %v, want EXPORT_RETENTION's 168h", left)
	}
	resp, err := http.Get(ex.Download.URL)
	if err != nil {
		t.Fatal(err)
	}
	archive, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || int64(len(archive)) != *ex.SizeBytes {
		t.Fatalf("download: %d, %d bytes of %d", resp.StatusCode, len(archive), *ex.SizeBytes)
	}
	path := filepath.Join(t.TempDir(), wantName)
	if err := os.WriteFile(path, archive, 0o600); err != nil {
		t.Fatal(err)
	}

	entries := checkArchive(t, path)
	var m export.Manifest
	if err := json.Unmarshal(entries["manifest.json"].body, &m); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range m.Recordings {
		names = append(names, e.Name)
		got := entries[e.Name]
		sum := sha256.Sum256(got.body)
		if hex.EncodeToString(sum[:]) != e.SHA256 || string(got.body) != string(bodies[e.ID]) {
			t.Errorf("%s: the entry's SHA-256 or bytes differ from the manifest's or the recording's", e.Name)
		}
		if !got.modified.Equal(*e.RecordedAt) {
			t.Errorf("%s dated %v, recorded at %v", e.Name, got.modified, *e.RecordedAt)
		}
		if got.method != zip.Store {
			t.Errorf("%s: method %d, want stored", e.Name, got.method)
		}
	}
	sort.Strings(names)
	want := []string{"Memo.wav", "memo (2).wav", "회의 녹음 (2).m4a", "회의 녹음.m4a"}
	if len(names) != len(want) {
		t.Fatalf("entries %q, want %q", names, want)
	}
	for i := range want {
		if names[i] != want[i] {
			t.Fatalf("entries %q, want %q", names, want)
		}
	}
	if f := entries["회의 녹음.m4a"]; f.flags&0x800 == 0 {
		t.Errorf("a Korean name without the UTF-8 flag: %#x", f.flags)
	}
	first := m.Recordings[0]
	if first.ID != ids[0] || first.Transcript != "회의 녹음.txt" || first.TranscriptSegments != "회의 녹음.segments.json" ||
		string(entries[first.Transcript].body) != tr.texts[ids[0]].Text {
		t.Errorf("transcript beside its audio: %+v", first)
	}
	if _, ok := entries["trashed.m4a"]; ok {
		t.Error("a recording in the trash was exported without being asked for")
	}

	r = c.do("GET", "/v1/exports", nil)
	wantStatus(t, r, 200)
	var list struct{ Exports []exportJSON }
	r.decode(t, &list)
	if len(list.Exports) != 1 || list.Exports[0].ID != ex.ID || list.Exports[0].Download != nil {
		t.Errorf("list: %+v", list)
	}
	assertNoExportUploads(t, s)
	_ = uid
}

type zipEntry struct {
	body     []byte
	method   uint16
	flags    uint16
	modified time.Time
}

// checkArchive opens the archive with Go's reader and tests it with the
// system's unzip, and returns every entry.
func checkArchive(t *testing.T, path string) map[string]zipEntry {
	t.Helper()
	out, err := exec.Command("unzip", "-t", path).CombinedOutput()
	if err != nil {
		t.Fatalf("unzip -t: %v\n%s", err, out)
	}
	zr, err := zip.OpenReader(path)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	entries := map[string]zipEntry{}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc) // checks the CRC-32
		rc.Close()
		if err != nil {
			t.Fatalf("%s: %v", f.Name, err)
		}
		entries[f.Name] = zipEntry{body: b, method: f.Method, flags: f.Flags, modified: f.Modified.UTC()}
	}
	return entries
}

// assertNoExportUploads fails when a multipart upload is open under
// exports/: a worker that stopped left parts behind.
func assertNoExportUploads(t *testing.T, s *stack.Stack) {
	t.Helper()
	// The whole bucket's: MinIO lists an upload only for an empty prefix or
	// its exact key.
	out, err := s.Clients.S3.ListMultipartUploads(context.Background(), &awss3.ListMultipartUploadsInput{Bucket: &s.Config.Bucket})
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range out.Uploads {
		if strings.HasPrefix(*u.Key, "exports/") {
			t.Errorf("a multipart upload left under exports/: %s", *u.Key)
		}
	}
}

// Deleting an account deletes its exports too: the records and the
// archives, which hold every recording.
func TestAccountDeletionDeletesExports(t *testing.T) {
	t.Parallel()
	s := stack.Start(t, testenv.Get(t), stack.Options{})
	c, uid := login(t, s, "leaver")
	c.upload("last words.m4a", "audio/mp4", audioBytes("audio/mp4", 9000))
	r := c.do("POST", "/v1/exports", map[string]any{"include_transcripts": false})
	wantStatus(t, r, 202)
	var started exportJSON
	r.decode(t, &started)
	if ex := c.waitExport(started.ID); ex.Status != "ready" {
		t.Fatalf("export: %+v", ex)
	}

	wantStatus(t, c.do("DELETE", "/v1/me", nil), 204)
	if dump := testenv.DumpTable(t, s.Clients.DynamoDB, dynamo.TableName(s.Config.TablePrefix, dynamo.ExportsTable)); strings.Contains(dump, uid) {
		t.Errorf("the exports table still holds the deleted user:\n%s", dump)
	}
	objs, err := s.Clients.S3.ListObjectsV2(context.Background(), &awss3.ListObjectsV2Input{
		Bucket: &s.Config.Bucket, Prefix: aws.String("exports/" + uid + "/")})
	if err != nil {
		t.Fatal(err)
	}
	if len(objs.Contents) != 0 {
		t.Errorf("%d archives of the deleted user remain", len(objs.Contents))
	}
}
