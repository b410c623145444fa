package cli

import (
	"os"
	"path/filepath"
	"testing"
)

func TestRestoreTellsIDsFromAFolder(t *testing.T) {
	dir := t.TempDir()
	idDir := filepath.Join(dir, "01ARZ3NDEKTSV4RRFFQ69G5FAV")
	if err := os.Mkdir(idDir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		ids  bool
	}{
		{[]string{"01ARZ3NDEKTSV4RRFFQ69G5FAV"}, true},
		{[]string{"01ARZ3NDEKTSV4RRFFQ69G5FAV", "01ARZ3NDEKTSV4RRFFQ69G5FAW"}, true},
		{[]string{"restored"}, false},
		{[]string{"/tmp/x"}, false},
		{[]string{"01arz3ndektsv4rrffq69g5fav"}, false},
	} {
		if got := allIDs(tc.args); got != tc.ids {
			t.Errorf("%v: ids %v, want %v", tc.args, got, tc.ids)
		}
	}
	// A folder that happens to be named like an id is a folder.
	t.Chdir(dir)
	if allIDs([]string{filepath.Base(idDir)}) {
		t.Error("a folder named like an id was taken for an id")
	}
}
