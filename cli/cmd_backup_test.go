package cli_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/voicerec/backend/internal/testenv"
	"github.com/voicerec/backend/internal/testenv/stack"
)

// storageProxy sits between the CLI and MinIO (as S3_PUBLIC_ENDPOINT; the
// Host header the URLs were signed for is kept). It passes requests on,
// or corrupts downloads (one byte flipped, length kept), or freezes: holds
// uploads without reading them, as a stopped MinIO would.
type storageProxy struct {
	mu      sync.Mutex
	target  *url.URL
	corrupt bool
	freeze  chan struct{} // closed to let frozen requests go
}

func (p *storageProxy) set(corrupt, freeze bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.corrupt = corrupt
	switch {
	case freeze && p.freeze == nil:
		p.freeze = make(chan struct{})
	case !freeze && p.freeze != nil:
		close(p.freeze)
		p.freeze = nil
	}
}

func (p *storageProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	corrupt, freeze, target := p.corrupt, p.freeze, p.target
	p.mu.Unlock()
	if freeze != nil && r.Method == http.MethodPut {
		// A server that stopped: it reads nothing, answers nothing, and
		// does not notice the client leave until it is let go.
		select {
		case <-r.Context().Done():
		case <-freeze:
		}
		http.Error(w, "frozen", http.StatusServiceUnavailable)
		return
	}
	rp := httputil.NewSingleHostReverseProxy(target)
	if corrupt && r.Method == http.MethodGet {
		rp.ModifyResponse = func(resp *http.Response) error {
			resp.Body = &flipFirst{ReadCloser: resp.Body}
			return nil
		}
	}
	rp.ServeHTTP(w, r)
}

type flipFirst struct {
	io.ReadCloser
	done bool
}

func (f *flipFirst) Read(b []byte) (int, error) {
	n, err := f.ReadCloser.Read(b)
	if n > 0 && !f.done {
		b[0] ^= 0xff
		f.done = true
	}
	return n, err
}

func write(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// lastLine is the summary a backup or restore ends with.
func lastLine(out string) string {
	lines := strings.Split(strings.TrimSpace(out), "\n")
	return lines[len(lines)-1]
}

func umask() os.FileMode {
	m := syscall.Umask(0)
	syscall.Umask(m)
	return os.FileMode(m)
}

// A folder is backed up once: the second run uploads nothing. restore
// brings it back byte for byte, skips what is there, never overwrites a
// different file, and keeps nothing that fails its SHA-256.
func TestBackupAndRestore(t *testing.T) {
	bin := buildCLI(t)
	proxy := &storageProxy{}
	proxySrv := httptest.NewServer(proxy)
	t.Cleanup(proxySrv.Close)
	s := stack.Start(t, testenv.Get(t), stack.Options{Env: map[string]string{"S3_PUBLIC_ENDPOINT": proxySrv.URL}})
	proxy.target, _ = url.Parse(s.Config.S3Endpoint)
	p := newPerson(t, bin, s)
	if _, errs, code := p.run("", "login", "--dev", "erin"); code != 0 || !strings.Contains(errs, "signed up as erin with dev") {
		t.Fatalf("login: exit %d, %q", code, errs)
	}

	src := filepath.Join(p.home, "Recordings")
	a, b := wav(40_000), m4a(200_000)
	write(t, filepath.Join(src, "a.wav"), a)
	write(t, filepath.Join(src, "2024", "회의.m4a"), b)
	write(t, filepath.Join(src, "later", "a copy.wav"), a) // same content as a.wav, found after it
	write(t, filepath.Join(src, "empty.m4a"), nil)
	write(t, filepath.Join(src, "notes.txt"), []byte("not audio"))
	write(t, filepath.Join(src, ".cache", "tmp.wav"), wav(1000))

	out := p.ok("backup", src)
	if got, want := lastLine(out), "backup of "+src+": 2 uploaded, 1 already backed up, 1 skipped, 0 failed; passed over: 1 hidden, 1 not audio (-v lists them)"; got != want {
		t.Fatalf("first backup:\n%s\nwant %q", out, want)
	}
	if items := p.ls(); len(items) != 2 {
		t.Fatalf("after backup: %+v", items)
	}
	out = p.ok("backup", src)
	if got, want := lastLine(out), "backup of "+src+": 0 uploaded, 3 already backed up, 1 skipped, 0 failed; passed over: 1 hidden, 1 not audio (-v lists them)"; got != want {
		t.Fatalf("second backup:\n%s\nwant %q", out, want)
	}
	// Content, not the name: a renamed file is still backed up.
	if err := os.Rename(filepath.Join(src, "a.wav"), filepath.Join(src, "renamed.wav")); err != nil {
		t.Fatal(err)
	}
	if got := lastLine(p.ok("backup", src)); !strings.Contains(got, ": 0 uploaded") {
		t.Errorf("backup after a rename: %q", got)
	}
	if items := p.ls(); len(items) != 2 {
		t.Fatalf("after three backups: %+v", items)
	}
	if who := p.ok("whoami"); !strings.Contains(who, "recordings  2 of") || !strings.Contains(who, "KiB used") {
		t.Errorf("whoami:\n%s", who)
	}

	dst := filepath.Join(p.home, "Restored")
	out = p.ok("restore", dst)
	if got, want := lastLine(out), "restore into "+dst+": 2 downloaded, 0 already there, 0 failed"; got != want {
		t.Fatalf("restore:\n%s\nwant %q", out, want)
	}
	for name, data := range map[string][]byte{"a.wav": a, "회의.m4a": b} {
		got, err := os.ReadFile(filepath.Join(dst, name))
		if err != nil || !bytes.Equal(got, data) {
			t.Errorf("%s restored wrong: %v", name, err)
		}
		if st, err := os.Stat(filepath.Join(dst, name)); err != nil {
			t.Error(err)
		} else if st.Mode().Perm() != 0o666&^umask() {
			t.Errorf("%s restored with mode %v, want %v", name, st.Mode().Perm(), 0o666&^umask())
		}
	}
	if got := lastLine(p.ok("restore", dst)); !strings.HasSuffix(got, ": 0 downloaded, 2 already there, 0 failed") {
		t.Errorf("second restore: %q", got)
	}

	// A different file under a recording's name stays; the recording
	// goes beside it.
	other := filepath.Join(p.home, "Other")
	mine := []byte("my own a.wav, not the recording")
	write(t, filepath.Join(other, "a.wav"), mine)
	p.ok("restore", other)
	if got, _ := os.ReadFile(filepath.Join(other, "a.wav")); !bytes.Equal(got, mine) {
		t.Error("restore overwrote a different file")
	}
	beside, _ := filepath.Glob(filepath.Join(other, "a (*).wav"))
	if len(beside) != 1 {
		t.Fatalf("no a (ID).wav beside it: %v", beside)
	}
	if got, _ := os.ReadFile(beside[0]); !bytes.Equal(got, a) {
		t.Error("a (ID).wav differs from the recording")
	}

	// Storage hands back other bytes: nothing is kept.
	proxy.set(true, false)
	bad := filepath.Join(p.home, "Corrupted")
	out, _, code := p.run("", "restore", bad)
	if code != 1 || !strings.Contains(out, "does not match its SHA-256") || !strings.HasSuffix(lastLine(out), "0 downloaded, 0 already there, 2 failed") {
		t.Errorf("restore through a corrupting storage: exit %d\n%s", code, out)
	}
	if left, _ := os.ReadDir(bad); len(left) != 0 {
		t.Errorf("a failed restore left %v", left)
	}
	proxy.set(false, false)

	// get: to stdout, into a folder under the original name.
	id := p.ls()[0].ID
	name := p.ls()[0].FileName
	want := map[string][]byte{"a.wav": a, "회의.m4a": b}[name]
	if got := p.ok("get", id, "-o", "-"); got != string(want) {
		t.Errorf("get -o - wrote %d bytes, want %d", len(got), len(want))
	}
	folder := filepath.Join(p.home, "Folder")
	if err := os.Mkdir(folder, 0o755); err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(p.ok("get", id, "-o", folder)); got != filepath.Join(folder, name) {
		t.Errorf("get -o DIR printed %q", got)
	}
	if got, _ := os.ReadFile(filepath.Join(folder, name)); !bytes.Equal(got, want) {
		t.Error("get -o DIR wrote other bytes")
	}

	// Storage stops answering: the upload gives up within its timeout,
	// naming storage, and can be resumed.
	write(t, filepath.Join(p.work, "new.wav"), wav(30_000))
	proxy.set(false, true)
	start := time.Now()
	_, errs, code := p.run("", "upload", "--timeout", "2s", "new.wav")
	want2 := "storage at " + proxySrv.URL + " did not answer within 2s"
	if code != 4 || !strings.Contains(errs, want2) || strings.Count(strings.TrimSpace(errs), "\n") > 0 {
		t.Errorf("upload to a frozen storage: exit %d, %q; want exit 4 and %q", code, errs, want2)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("gave up after %s", d)
	}
	proxy.set(false, false)
	var pending []listed
	if err := json.Unmarshal([]byte(p.ok("ls", "--status", "pending", "--json")), &pending); err != nil || len(pending) != 1 {
		t.Fatalf("after the frozen upload: %v %+v", err, pending)
	}
	// The same command again resumes the same recording.
	if rows := uploaded(t, p.ok("upload", "new.wav")); rows["new.wav"] != [2]string{pending[0].ID, "available"} {
		t.Errorf("upload after storage came back: %v, want %s available", rows, pending[0].ID)
	}
}

// A recording keeps its own date: backup and upload send each file's
// modification time as recorded_at, ls shows it, and restore and get -o DIR
// give it back as the modification time.
func TestRecordingDateRoundTrips(t *testing.T) {
	bin := buildCLI(t)
	s := stack.Start(t, testenv.Get(t), stack.Options{})
	p := newPerson(t, bin, s)
	p.ok("login", "--dev", "dana")

	src := filepath.Join(p.home, "Recordings")
	when := map[string]time.Time{
		"old.wav":    time.Date(2021, 3, 4, 5, 6, 7, 0, time.UTC),
		"recent.wav": time.Now().Add(-90 * time.Minute).Truncate(time.Second),
	}
	for name, at := range when {
		write(t, filepath.Join(src, name), wav(2000+len(name)))
		if err := os.Chtimes(filepath.Join(src, name), at, at); err != nil {
			t.Fatal(err)
		}
	}
	p.ok("backup", src)
	if table := p.ok("ls"); !strings.Contains(table, when["old.wav"].Local().Format("2006-01-02 15:04")) {
		t.Errorf("ls does not show the recording's date %s:\n%s", when["old.wav"].Local(), table)
	}

	dst := filepath.Join(p.home, "Restored")
	p.ok("restore", dst)
	for name, at := range when {
		st, err := os.Stat(filepath.Join(dst, name))
		if err != nil {
			t.Fatal(err)
		}
		if !st.ModTime().Equal(at) {
			t.Errorf("%s restored with the date %s, want %s", name, st.ModTime().UTC(), at.UTC())
		}
	}
	var items []struct {
		ID       string `json:"id"`
		FileName string `json:"file_name"`
	}
	if err := json.Unmarshal([]byte(p.ok("ls", "--json")), &items); err != nil {
		t.Fatal(err)
	}
	folder := filepath.Join(p.home, "Folder")
	if err := os.Mkdir(folder, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, it := range items {
		p.ok("get", it.ID, "-o", folder)
		if st, err := os.Stat(filepath.Join(folder, it.FileName)); err != nil || !st.ModTime().Equal(when[it.FileName]) {
			t.Errorf("get -o DIR: %s dated %v (%v), want %s", it.FileName, st.ModTime().UTC(), err, when[it.FileName].UTC())
		}
	}
}
