package cli_test

import (
	"testing"

	"github.com/voicerec/backend/internal/testenv"
	"github.com/voicerec/backend/internal/testenv/stack"
)

// An empty account's ls says how to fill it, in one line, instead of a
// bare header; --json stays a list for scripts.
func TestListOfEmptyAccountHints(t *testing.T) {
	s := stack.Start(t, testenv.Get(t), stack.Options{})
	p := newPerson(t, buildCLI(t), s)
	p.ok("login", "--dev", "dana")
	out, errs, code := p.run("", "ls")
	want := "no recordings yet: `recorder upload FILE` or `recorder backup DIR`\n"
	if code != 0 || out != "" || errs != want {
		t.Errorf("ls: exit %d, stdout %q, stderr %q; want exit 0, nothing on stdout, %q", code, out, errs, want)
	}
	if out := p.ok("ls", "--json"); out != "[]\n" {
		t.Errorf("ls --json: %q", out)
	}
}
