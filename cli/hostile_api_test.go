package cli

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/voicerec/backend/client"
)

// fakeAPI speaks the API's JSON shapes and serves whatever recordings a
// test gives it, ids and names included, as a hostile server (or anyone on
// a plain http:// path) could. Downloads come from the same server.
type fakeAPI struct {
	t     *testing.T
	srv   *httptest.Server
	mu    sync.Mutex
	items []client.Recording
	body  map[string][]byte // by download path
	// deleted answers DELETE /v1/recordings/{id}: the status, and the body
	// when it is not empty.
	deleteStatus int
	deleteBody   any
	lastDelete   string // the query of the last DELETE
	deletes      int
}

func newFakeAPI(t *testing.T) *fakeAPI {
	f := &fakeAPI{t: t, body: map[string][]byte{}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

// add serves a recording with this id, name and content.
func (f *fakeAPI) add(id, name string, data []byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	sum := sha256.Sum256(data)
	path := fmt.Sprintf("/blob/%d", len(f.body))
	f.body[path] = data
	f.items = append(f.items, client.Recording{
		ID: id, FileName: name, ContentType: "audio/wav", SizeBytes: int64(len(data)), Status: "available",
		CreatedAt: time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC), SHA256: base64.StdEncoding.EncodeToString(sum[:]),
		Download: &client.Download{URL: f.srv.URL + path, ExpiresAt: time.Now().Add(time.Hour)},
	})
}

func (f *fakeAPI) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	reply := func(status int, v any) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(v)
	}
	switch p := r.URL.Path; {
	case strings.HasPrefix(p, "/blob/"):
		_, _ = w.Write(f.body[p])
	case r.Method == http.MethodGet && p == "/v1/recordings":
		reply(http.StatusOK, map[string]any{"items": f.items, "next_cursor": ""})
	case r.Method == http.MethodGet && strings.HasPrefix(p, "/v1/recordings/"):
		// get asks by the id on its command line; the fake answers with
		// the recording stored under that position, whatever its id.
		var n int
		if _, err := fmt.Sscanf(strings.TrimPrefix(p, "/v1/recordings/"), "01ARZ3NDEKTSV4RRFFQ69G%04d", &n); err != nil || n >= len(f.items) {
			reply(http.StatusNotFound, map[string]any{"code": "not_found", "title": "Not Found"})
			return
		}
		reply(http.StatusOK, f.items[n])
	case r.Method == http.MethodPost && p == "/v1/recordings":
		reply(http.StatusCreated, map[string]any{"recording": f.items[0], "upload": client.Signed{Method: "PUT", URL: f.srv.URL + "/blob/put", ExpiresAt: time.Now().Add(time.Hour)}})
	case r.Method == http.MethodDelete && strings.HasPrefix(p, "/v1/recordings/"):
		f.lastDelete = r.URL.RawQuery
		f.deletes++
		if f.deleteBody == nil {
			w.WriteHeader(f.deleteStatus)
			return
		}
		reply(f.deleteStatus, f.deleteBody)
	default:
		reply(http.StatusNotFound, map[string]any{"code": "not_found", "title": "Not Found"})
	}
}

// snapshot is every file under root with its content.
func snapshot(t *testing.T, root string) map[string]string {
	t.Helper()
	files := map[string]string{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			raw, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			files[path] = string(raw)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// checkLocalName fails for a file name a person could be fooled or hurt by.
func checkLocalName(t *testing.T, name string) {
	t.Helper()
	switch {
	case len(name) > 255:
		t.Errorf("name of %d bytes: %.40q...", len(name), name)
	case !utf8.ValidString(name):
		t.Errorf("name %q is not UTF-8", name)
	case strings.HasPrefix(name, "."):
		t.Errorf("name %q is hidden", name)
	case strings.ContainsAny(name, `/\`) || strings.IndexFunc(name, unicode.IsControl) >= 0:
		t.Errorf("name %q holds a separator or a control character", name)
	}
}

// The ids a hostile server sends to write outside the folder, and names
// meant to escape it, hide a file, break a terminal or overflow a file
// system: nothing lands outside the folder, every recording with a valid
// id is restored, and the others are reported.
func TestRestoreFromAHostileAPIStaysInTheFolder(t *testing.T) {
	root := t.TempDir()
	home := filepath.Join(root, "home")
	dst := filepath.Join(home, "Restored")
	// The folders an attacker aims at exist, so a path into them would work.
	for _, d := range []string{filepath.Join(home, ".config", "autostart"), filepath.Join(root, "etc")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	f := newFakeAPI(t)
	good := map[string][]byte{}
	goodID := func(n int) string { return fmt.Sprintf("01ARZ3NDEKTSV4RRFFQ69G%04d", n) }
	names := []string{
		"a.wav",
		"../../escape.wav",
		"/etc/absolute.wav",
		`..\..\backslash.wav`,
		"nul\x00byte.wav",
		"esc\x1b[31mred.wav",
		"line\nbreak.wav",
		"..",
		"...",
		"",
		".hidden.wav",
		strings.Repeat("가", 3333) + ".wav", // 10,003 bytes
		strings.Repeat("x", 10_000),
		"same.wav",
		"same.wav",
	}
	for i, name := range names {
		data := []byte(fmt.Sprintf("recording %d", i))
		f.add(goodID(i), name, data)
		good[string(data)] = data
	}
	// Same name as a.wav, with the id of the report.
	for _, id := range []string{"/../../.config/autostart/evil", "../../../etc/evil", "01ARZ3NDEKTSV4RRFFQ69G5FA\x00", "01arz3ndektsv4rrffq69g5fav-", "81ARZ3NDEKTSV4RRFFQ69G5FAV", "01ARZ3NDEKTSV4RRFFQ69G5FAI"} {
		f.add(id, "a.wav", []byte("evil "+id))
	}
	before := snapshot(t, root)

	out, _, code := invocation(t, f.srv.URL, "restore", dst)
	if code != ExitFailed {
		t.Errorf("restore exit %d, want %d (invalid ids are failures)\n%s", code, ExitFailed, out)
	}
	after := snapshot(t, root)
	restored := map[string]string{}
	for path, data := range after {
		if old, ok := before[path]; ok && old == data {
			continue
		}
		if filepath.Dir(path) != dst {
			t.Errorf("restore wrote %s, outside %s", path, dst)
			continue
		}
		checkLocalName(t, filepath.Base(path))
		restored[data] = path
	}
	for data := range good {
		if _, ok := restored[data]; !ok {
			t.Errorf("%q was not restored", data)
		}
	}
	if len(restored) != len(good) {
		t.Errorf("restored %d files, want %d:\n%s", len(restored), len(good), out)
	}
	if n := strings.Count(out, "invalid id"); n != 6 {
		t.Errorf("%d recordings reported for an invalid id, want 6:\n%s", n, out)
	}
	if strings.IndexFunc(out, func(r rune) bool { return r != '\n' && unicode.IsControl(r) }) >= 0 {
		t.Errorf("restore printed a control character:\n%q", out)
	}
}

// get -o DIR puts a recording in DIR whatever name the server gives it.
func TestGetIntoAFolderFromAHostileAPIStaysInTheFolder(t *testing.T) {
	root := t.TempDir()
	f := newFakeAPI(t)
	names := []string{"../../escape.wav", "/etc/absolute.wav", "..", "", "/", ".hidden", "nul\x00.wav",
		strings.Repeat("가", 3333) + ".wav"}
	for i, name := range names {
		f.add(fmt.Sprintf("01ARZ3NDEKTSV4RRFFQ69G%04d", i), name, []byte(fmt.Sprintf("recording %d", i)))
	}
	for i, name := range names {
		dst := filepath.Join(root, "in", fmt.Sprint(i))
		if err := os.MkdirAll(dst, 0o755); err != nil {
			t.Fatal(err)
		}
		before := snapshot(t, root)
		out, errs, code := invocation(t, f.srv.URL, "get", fmt.Sprintf("01ARZ3NDEKTSV4RRFFQ69G%04d", i), "-o", dst)
		if code != ExitOK {
			t.Errorf("get of %.40q: exit %d, %s", name, code, errs)
			continue
		}
		var wrote []string
		for path, data := range snapshot(t, root) {
			if old, ok := before[path]; !ok || old != data {
				wrote = append(wrote, path)
			}
		}
		if len(wrote) != 1 || filepath.Dir(wrote[0]) != dst || strings.TrimSpace(out) != wrote[0] {
			t.Errorf("get of %.40q wrote %q, printed %q; want one file in %s", name, wrote, out, dst)
			continue
		}
		checkLocalName(t, filepath.Base(wrote[0]))
	}
}

// An upload whose create answers an id that is not one stops there: the id
// would go into the path of every later request.
func TestUploadRefusesAnInvalidID(t *testing.T) {
	f := newFakeAPI(t)
	f.add("../../v1/me", "a.wav", []byte("x"))
	wav := filepath.Join(t.TempDir(), "a.wav")
	if err := os.WriteFile(wav, []byte("RIFF\x24\x00\x00\x00WAVEfmt "+strings.Repeat("\x00", 40)), 0o644); err != nil {
		t.Fatal(err)
	}
	_, errs, code := invocation(t, f.srv.URL, "upload", wav)
	if code != ExitFailed || !strings.Contains(errs, `invalid recording id "../../v1/me"`) {
		t.Errorf("exit %d, %q", code, errs)
	}
}

// ls prints no control character a name or an id holds.
func TestListPrintsNoControlCharacters(t *testing.T) {
	f := newFakeAPI(t)
	f.add("01ARZ3NDEKTSV4RRFFQ69G5FAV", "esc\x1b]0;pwned\x07\u202e.wav", []byte("x"))
	out, errs, code := invocation(t, f.srv.URL, "ls")
	if code != ExitOK || !strings.Contains(out, "esc?]0;pwned??.wav") {
		t.Errorf("exit %d, %q, %s", code, out, errs)
	}
}

// A recording found by name or prefix is acted on only when its id passes
// the server's own check: a hostile listing cannot steer a request path.
func TestResolveRefusesAnInvalidID(t *testing.T) {
	f := newFakeAPI(t)
	f.add("01ARZ3NDEKTSV4RRFFQ69G/../../me", "evil.wav", []byte("RIFF"))
	f.deleteStatus = http.StatusNoContent
	for _, arg := range []string{"evil.wav", "01arz3"} {
		_, errs, code := invocation(t, f.srv.URL, "rm", arg)
		if want := "recorder rm: no recording " + arg + "\n"; code != ExitFailed || errs != want {
			t.Errorf("rm %s: exit %d, %q; want exit 1, %q", arg, code, errs, want)
		}
	}
	if f.deletes != 0 {
		t.Errorf("%d DELETE requests for an invalid id", f.deletes)
	}
}

// A listed recording with the file's digest but an id that is not one is
// no proof the content is stored: upload goes ahead (and stops at the
// invalid id the create answers) instead of printing that id.
func TestUploadMatchesOnlyValidIDs(t *testing.T) {
	f := newFakeAPI(t)
	data := []byte("RIFF\x24\x00\x00\x00WAVEfmt " + strings.Repeat("\x00", 40))
	f.add("../../v1/me", "a.wav", data)
	wav := filepath.Join(t.TempDir(), "a.wav")
	if err := os.WriteFile(wav, data, 0o644); err != nil {
		t.Fatal(err)
	}
	_, errs, code := invocation(t, f.srv.URL, "upload", wav)
	if code != ExitFailed || !strings.Contains(errs, `invalid recording id "../../v1/me"`) || strings.Contains(errs, "already backed up") {
		t.Errorf("exit %d, %q", code, errs)
	}
}
