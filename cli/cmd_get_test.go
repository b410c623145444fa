package cli_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/voicerec/backend/internal/testenv"
	"github.com/voicerec/backend/internal/testenv/stack"
)

// shortestUnique is the shortest prefix (at least 4 characters) of id that
// no other id shares.
func shortestUnique(id string, others []string) string {
	for n := 4; n < len(id); n++ {
		unique := true
		for _, o := range others {
			if o != id && strings.HasPrefix(o, id[:n]) {
				unique = false
			}
		}
		if unique {
			return id[:n]
		}
	}
	return id
}

// Commands that take a recording take a unique id prefix in either case, or
// an exact file name; an ambiguous one names the candidates.
func TestRecordingByPrefixOrName(t *testing.T) {
	s := stack.Start(t, testenv.Get(t), stack.Options{})
	p := newPerson(t, buildCLI(t), s)
	p.ok("login", "--dev", "erin")
	names := []string{"monday.wav", "tuesday.wav", "wednesday.wav"}
	for _, n := range names {
		if err := os.WriteFile(filepath.Join(p.work, n), wav(500), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	rows := uploaded(t, p.ok(append([]string{"upload"}, names...)...))
	var ids []string
	for _, n := range names {
		ids = append(ids, rows[n][0])
	}
	monday := shortestUnique(ids[0], ids)

	out := filepath.Join(p.work, "got.wav")
	p.ok("get", strings.ToLower(monday), "-o", out)
	if got, _ := os.ReadFile(out); len(got) == 0 {
		t.Errorf("get by prefix %s wrote nothing", monday)
	}
	p.ok("rename", "tuesday.wav", "tue.wav")
	p.ok("rm", "tue.wav")
	p.ok("trash", "restore", "tue.wav")
	if got := p.ls(); len(got) != 3 {
		t.Errorf("after rename, rm, restore by name: %v", got)
	}

	// The first four characters are the time of creation: all three share them.
	_, errs, code := p.run("", "get", ids[0][:4])
	if code != 1 || !strings.Contains(errs, "matches 3 recordings") || strings.Count(strings.TrimSpace(errs), "\n") > 0 {
		t.Errorf("ambiguous prefix: exit %d, %q", code, errs)
	}
	for i, id := range ids {
		if !strings.Contains(errs, id) {
			t.Errorf("ambiguous prefix: candidate %s (%s) not named: %q", id, names[i], errs)
		}
	}
	p.fails("at least 4 characters", "get", ids[0][:3])
	p.fails("no recording", "get", "ZZZZZZ")
}
