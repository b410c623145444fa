package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A folder synced with one account is not synced with another: that
// account's feed would move the first one's files into .trash.
func TestSyncRefusesAFolderOfAnotherAccount(t *testing.T) {
	f := newFakeAPI(t)
	dir := t.TempDir()
	for _, st := range []*syncState{
		{API: f.srv.URL, User: "someone-else"},
		{API: "http://127.0.0.1:1", User: "u1"},
	} {
		st.path, st.Cursor = filepath.Join(dir, syncStateName), "c0"
		if err := st.save(); err != nil {
			t.Fatal(err)
		}
		_, errs, code := invocation(t, f.srv.URL, "sync", dir)
		if code != ExitFailed || !strings.Contains(errs, "is synced with account "+st.User+" at "+st.API+", not the one signed in") {
			t.Errorf("sync of a folder of %s at %s: exit %d, %q", st.User, st.API, code, errs)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, syncStateName), []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, errs, code := invocation(t, f.srv.URL, "sync", dir); code != ExitFailed || !strings.Contains(errs, "is damaged") {
		t.Errorf("sync with a damaged state: exit %d, %q", code, errs)
	}
}
