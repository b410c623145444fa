package cli_test

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/voicerec/backend/internal/testenv"
	"github.com/voicerec/backend/internal/testenv/stack"
)

var lookupLine = regexp.MustCompile(`(?m)^  POST /v1/recordings/lookup `)

// A folder of 1,000 files already backed up costs at most 10 ledger
// lookups and no other request, whether backup asks or a sync that has
// never seen the folder (which lists the account once, 100 a page).
func TestABackedUpFolderCostsTenLookups(t *testing.T) {
	if testing.Short() {
		t.Skip("uploads 1,000 files")
	}
	bin := buildCLI(t)
	s := stack.Start(t, testenv.Get(t), stack.Options{})
	p := newPerson(t, bin, s)
	p.ok("login", "--dev", "fran")
	dir := filepath.Join(p.home, "Recordings")
	const n = 1000
	for i := range n {
		write(t, filepath.Join(dir, fmt.Sprintf("memo %04d.wav", i)), wav(200))
	}
	if out := p.ok("backup", "-j", "8", dir); !strings.Contains(lastLine(out), fmt.Sprintf("%d uploaded", n)) {
		t.Fatalf("first backup: %s", lastLine(out))
	}

	out, errs, code := p.run("", "-v", "backup", dir)
	if code != 0 || !strings.Contains(lastLine(out), fmt.Sprintf("0 uploaded, %d already backed up", n)) {
		t.Fatalf("second backup: exit %d: %s", code, lastLine(out))
	}
	lookups, all := len(lookupLine.FindAllString(errs, -1)), len(requestLine.FindAllString(errs, -1))
	t.Logf("backup of %d files already backed up: %d lookups, %d requests in all", n, lookups, all)
	if lookups > n/100 || all != lookups {
		t.Errorf("backup of %d backed-up files: %d lookups, %d requests in all; want at most %d lookups and nothing else", n, lookups, all, n/100)
	}

	// The same folder, its files renamed, synced for the first time:
	// every file is matched by its digest, none uploaded or downloaded,
	// and each takes its recording's name again.
	for i := range n {
		from := filepath.Join(dir, fmt.Sprintf("memo %04d.wav", i))
		if err := os.Rename(from, filepath.Join(dir, fmt.Sprintf("renamed %04d.wav", i))); err != nil {
			t.Fatal(err)
		}
	}
	out, errs, code = p.run("", "-v", "sync", dir)
	if code != 0 || !strings.Contains(lastLine(out), "0 uploaded, 0 downloaded") {
		t.Fatalf("first sync of a backed-up folder: exit %d: %s\n%s", code, lastLine(out), errs)
	}
	lookups, all = len(lookupLine.FindAllString(errs, -1)), len(requestLine.FindAllString(errs, -1))
	t.Logf("first sync of %d files already backed up: %d lookups, %d requests in all", n, lookups, all)
	if lookups > n/100 {
		t.Errorf("first sync: %d lookups, want at most %d", lookups, n/100)
	}
	if _, err := os.Stat(filepath.Join(dir, "memo 0999.wav")); err != nil {
		t.Errorf("the first sync left the local names: %v", err)
	}
	if _, calls := p.syncCounted(dir); calls != 1 {
		t.Errorf("second sync: %d requests, want 1", calls)
	}
}
