package cli

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/voicerec/backend/client"
)

// A feed from a hostile server: ids meant to reach outside the folder or
// into the state file, a change whose two ids disagree, and the names of
// the restore test. Sync ignores the changes it cannot trust, brings every
// recording with a valid id into the folder under a safe name, and moves
// its cursor on.
func TestSyncFromAHostileFeedStaysInTheFolder(t *testing.T) {
	root := t.TempDir()
	dst := filepath.Join(root, "home", "Synced")
	if err := os.MkdirAll(filepath.Join(root, "home", ".config", "autostart"), 0o755); err != nil {
		t.Fatal(err)
	}
	f := newFakeAPI(t)
	goodID := func(n int) string { return fmt.Sprintf("01ARZ3NDEKTSV4RRFFQ69G%04d", n) }
	names := []string{"a.wav", "../../escape.wav", "/etc/absolute.wav", `..\..\back.wav`, "esc\x1b[31mred.wav", "..", "", ".hidden.wav", "same.wav", "same.wav"}
	for i, name := range names {
		f.add(goodID(i), name, []byte(fmt.Sprintf("recording %d", i)))
	}
	bad := []string{"/../../.config/autostart/evil", "../../../etc/evil", "01ARZ3NDEKTSV4RRFFQ69G5FA\x00", "81ARZ3NDEKTSV4RRFFQ69G5FAV", "01ARZ3NDEKTSV4RRFFQ69G5FAI"}
	for _, id := range bad {
		f.add(id, "a.wav", []byte("evil "+id))
	}
	var changes []client.Change
	for i, r := range f.items {
		r.Download = nil
		changes = append(changes, client.Change{Seq: int64(i + 1), Op: "upsert", ID: r.ID, Recording: &r})
	}
	// One recording under another's id: which one is meant is unknown.
	other := f.items[1]
	other.Download, other.FileName = nil, "mismatch.wav"
	changes = append(changes, client.Change{Seq: 99, Op: "upsert", ID: goodID(0), Recording: &other})
	feed := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/changes" {
			f.serve(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(client.ChangesPage{Changes: changes, Cursor: "c1"})
	}))
	t.Cleanup(feed.Close)
	if err := os.MkdirAll(dst, 0o755); err != nil {
		t.Fatal(err)
	}
	st := &syncState{path: filepath.Join(dst, syncStateName), API: feed.URL, User: "u1", Cursor: "c0", Files: map[string]syncedFile{}}
	if err := st.save(); err != nil {
		t.Fatal(err)
	}
	before := snapshot(t, root)

	out, errs, code := invocation(t, feed.URL, "sync", dst)
	if code != ExitOK {
		t.Fatalf("sync exit %d\n%s\n%s", code, out, errs)
	}
	if n := strings.Count(errs, "ignored a change"); n != len(bad)+1 {
		t.Errorf("%d changes ignored, want %d:\n%s", n, len(bad)+1, errs)
	}
	if _, err := os.Lstat(filepath.Join(dst, "mismatch.wav")); err == nil {
		t.Error("a change whose ids disagree was applied")
	}
	got := map[string]bool{}
	for path, data := range snapshot(t, root) {
		if old, ok := before[path]; ok && old == data || filepath.Base(path) == syncStateName {
			continue
		}
		if filepath.Dir(path) != dst {
			t.Errorf("sync wrote %s, outside %s", path, dst)
			continue
		}
		checkLocalName(t, filepath.Base(path))
		got[data] = true
	}
	for i := range names {
		if want := fmt.Sprintf("recording %d", i); !got[want] {
			t.Errorf("%q was not synced", want)
		}
	}
	after, err := loadSyncState(dst)
	if err != nil {
		t.Fatal(err)
	}
	if after.Cursor != "c1" {
		t.Errorf("cursor %q after the page, want c1", after.Cursor)
	}
	for id, file := range after.Files {
		if !client.ValidID(id) || strings.Contains(file.Name, "..") && strings.Contains(file.Name, "/") {
			t.Errorf("state keeps %q as %q", id, file.Name)
		}
	}
	if len(after.Files) != len(names) {
		t.Errorf("state keeps %d recordings, want %d", len(after.Files), len(names))
	}
}
