package cli_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/voicerec/backend/internal/testenv"
	"github.com/voicerec/backend/internal/testenv/stack"
)

// partGate sits between the CLI and MinIO (as S3_PUBLIC_ENDPOINT, so part
// URLs point at it; the Host header the URLs were signed for is kept). While
// closed it lets one part through and holds every later part until the
// client gives up; it counts the parts it forwards.
type partGate struct {
	mu      sync.Mutex
	target  *url.URL
	closed  bool
	parts   int
	release chan struct{}
}

func (g *partGate) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	g.mu.Lock()
	target, hold := g.target, false
	if r.Method == http.MethodPut && r.URL.Query().Has("partNumber") {
		g.parts++
		hold = g.closed && g.parts > 1
	}
	g.mu.Unlock()
	if hold {
		// Reading the body lets the server notice when the client dies.
		_, _ = io.Copy(io.Discard, r.Body)
		select {
		case <-r.Context().Done():
		case <-g.release:
		}
		http.Error(w, "held", http.StatusServiceUnavailable)
		return
	}
	httputil.NewSingleHostReverseProxy(target).ServeHTTP(w, r)
}

func (g *partGate) open() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	n := g.parts
	if g.closed {
		close(g.release)
	}
	g.closed, g.parts = false, 0
	return n
}

func (g *partGate) sent() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.parts
}

// `recorder upload` of a file above the multipart threshold is killed with
// SIGKILL once storage holds one of its three parts; the same command run
// again resumes the same recording, sends only the missing parts, and the
// recording ends available with the file's size and digest.
func TestUploadResumesAfterKill(t *testing.T) {
	bin := buildCLI(t)
	gate := &partGate{closed: true, release: make(chan struct{})}
	gateSrv := httptest.NewServer(gate)
	t.Cleanup(gateSrv.Close)
	s := stack.Start(t, testenv.Get(t), stack.Options{Env: map[string]string{
		"MULTIPART_THRESHOLD_BYTES": "5242880", "MULTIPART_PART_SIZE": "5242880", "S3_PUBLIC_ENDPOINT": gateSrv.URL,
	}})
	gate.target, _ = url.Parse(s.Config.S3Endpoint)
	p := newPerson(t, bin, s)
	p.ok("login", "--dev", "dana")
	token, uid := p.config()["token"].(string), p.config()["user_id"].(string)
	data := m4a(10<<20 + 300_000) // parts of 5 MiB, 5 MiB and the rest
	if err := os.WriteFile(filepath.Join(p.work, "lecture.m4a"), data, 0o644); err != nil {
		t.Fatal(err)
	}

	cmd := exec.Command(p.bin, "--api", s.APIURL, "upload", "lecture.m4a")
	cmd.Dir = p.work
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + p.home, "XDG_CONFIG_HOME=" + filepath.Join(p.home, ".config")}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Wait until storage itself holds a part, then kill -9.
	deadline := time.Now().Add(30 * time.Second)
	var id string
	for {
		if pending := s.List(t, token, "pending"); len(pending) == 1 {
			id = pending[0].ID
			rec, err := s.Store.GetRecording(context.Background(), uid, id)
			if err != nil {
				t.Fatal(err)
			}
			if parts, err := s.Objects.ListParts(context.Background(), rec.Key, rec.UploadID); err == nil && len(parts) >= 1 && gate.sent() == 3 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no part stored within 30s; stderr: %s", stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	if first := gate.open(); first != 3 {
		t.Fatalf("the first run sent %d part requests, want 3", first)
	}

	out, errs, code := p.run("", "upload", "lecture.m4a")
	if code != 0 {
		t.Fatalf("resumed upload: exit %d: %s", code, errs)
	}
	if got := uploaded(t, out)["lecture.m4a"]; got != [2]string{id, "available"} {
		t.Fatalf("resumed upload printed %q, want the same recording %s", out, id)
	}
	if !strings.Contains(errs, "1 of 3 parts already stored") {
		t.Errorf("resumed upload did not say it resumed: %q", errs)
	}
	if again := gate.sent(); again != 2 {
		t.Errorf("the resumed run sent %d parts, want the 2 missing ones", again)
	}

	items := p.ls()
	// Storage verified the parts, not the whole file: the recording carries
	// the composite of the three parts' digests, and no whole-file sha256.
	h := sha256.New()
	for lo := 0; lo < len(data); lo += 5 << 20 {
		sum := sha256.Sum256(data[lo:min(lo+5<<20, len(data))])
		h.Write(sum[:])
	}
	composite := base64.StdEncoding.EncodeToString(h.Sum(nil)) + "-3"
	if len(items) != 1 || items[0].ID != id || items[0].Status != "available" || items[0].SizeBytes != int64(len(data)) ||
		items[0].SHA256 != "" || items[0].PartsSHA256 != composite {
		t.Fatalf("after the resumed upload: %+v, want parts_sha256 %s", items, composite)
	}
	if pending := s.List(t, token, "pending"); len(pending) != 0 {
		t.Errorf("pending recordings left: %v", pending)
	}
	dir := t.TempDir()
	p.work = dir
	p.ok("get", id, "-o", "back.m4a")
	if got, _ := os.ReadFile(filepath.Join(dir, "back.m4a")); !bytes.Equal(got, data) {
		t.Fatal("the downloaded recording differs from the file")
	}
	// The finished upload leaves no resume state behind.
	states, _ := filepath.Glob(filepath.Join(p.home, ".local", "state", "recorder", "uploads", "*"))
	if len(states) != 0 {
		t.Errorf("resume state left: %v", states)
	}
}

// A multipart upload whose client declared another file's sha256 (a hashing
// bug) must not make backup believe that other file is stored: storage only
// verified the parts, so the recording publishes their composite, and
// backup uploads the other file. A file that really is the multipart
// recording is matched by that composite and skipped.
func TestBackupTrustsOnlyDigestsStorageVerified(t *testing.T) {
	bin := buildCLI(t)
	s := stack.Start(t, testenv.Get(t), stack.Options{Env: map[string]string{
		"MULTIPART_THRESHOLD_BYTES": "5242880", "MULTIPART_PART_SIZE": "5242880",
	}})
	p := newPerson(t, bin, s)
	p.ok("login", "--dev", "ines")
	token := p.config()["token"].(string)
	long, other := m4a(10<<20+4321), wav(50_000)
	digest := func(b []byte) string { sum := sha256.Sum256(b); return base64.StdEncoding.EncodeToString(sum[:]) }

	// The buggy client: uploads long in parts, declaring other's digest.
	var created struct {
		Recording struct {
			ID string `json:"id"`
		} `json:"recording"`
		Upload struct {
			PartSize  int64 `json:"part_size"`
			PartCount int   `json:"part_count"`
		} `json:"upload"`
	}
	if st := s.Call(t, token, http.MethodPost, "/v1/recordings", map[string]any{
		"file_name": "lecture.m4a", "content_type": "audio/mp4", "size_bytes": len(long), "sha256": digest(other),
	}, &created); st != http.StatusCreated {
		t.Fatalf("create: %d", st)
	}
	id := created.Recording.ID
	var done []map[string]any
	for n := 1; n <= created.Upload.PartCount; n++ {
		lo := int64(n-1) * created.Upload.PartSize
		part := long[lo:min(lo+created.Upload.PartSize, int64(len(long)))]
		var signed struct {
			Parts []struct {
				URL     string            `json:"url"`
				Headers map[string]string `json:"headers"`
			} `json:"parts"`
		}
		ask := map[string]any{"parts": []map[string]any{{"part_number": n, "sha256": digest(part)}}}
		if st := s.Call(t, token, http.MethodPost, "/v1/recordings/"+id+"/parts", ask, &signed); st != http.StatusOK {
			t.Fatalf("sign part %d: %d", n, st)
		}
		req, _ := http.NewRequest(http.MethodPut, signed.Parts[0].URL, bytes.NewReader(part))
		for k, v := range signed.Parts[0].Headers {
			req.Header.Set(k, v)
		}
		req.ContentLength = int64(len(part))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("part %d: %d", n, resp.StatusCode)
		}
		done = append(done, map[string]any{"part_number": n, "etag": resp.Header.Get("ETag"), "sha256": digest(part)})
	}
	var rec struct {
		Status string `json:"status"`
	}
	if st := s.Call(t, token, http.MethodPost, "/v1/recordings/"+id+"/complete", map[string]any{"parts": done}, &rec); st != http.StatusOK || rec.Status != "available" {
		t.Fatalf("complete: %d %+v", st, rec)
	}

	src := filepath.Join(p.home, "Recordings")
	write(t, filepath.Join(src, "other.wav"), other)
	write(t, filepath.Join(src, "lecture copy.m4a"), long)
	out := p.ok("backup", "-v", src)
	if !strings.Contains(out, "uploaded  "+filepath.Join(src, "other.wav")) {
		t.Fatalf("backup did not upload the file whose digest was only declared:\n%s", out)
	}
	if !strings.Contains(out, "backed up as "+id) {
		t.Fatalf("backup did not match the multipart recording by its verified parts:\n%s", out)
	}
	if got, want := lastLine(out), "backup of "+src+": 1 uploaded, 1 already backed up, 0 skipped, 0 failed"; got != want {
		t.Fatalf("backup:\n%s\nwant %q", out, want)
	}
}
