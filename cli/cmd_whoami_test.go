package cli_test

import (
	"strings"
	"testing"

	"github.com/voicerec/backend/internal/testenv"
	"github.com/voicerec/backend/internal/testenv/stack"
)

// whoami and the delete-account prompt name the account as the login did,
// not only by its id.
func TestWhoamiNamesTheAccount(t *testing.T) {
	s := stack.Start(t, testenv.Get(t), stack.Options{})
	p := newPerson(t, buildCLI(t), s)
	_, login, code := p.run("", "login", "--dev", "alice")
	if code != 0 || !strings.Contains(login, "as alice") {
		t.Fatalf("login: exit %d, %q", code, login)
	}
	id := p.config()["user_id"].(string)
	if out := p.ok("whoami"); !strings.Contains(out, "user        alice (user "+id+")\n") {
		t.Errorf("whoami does not name alice:\n%s", out)
	}
	_, prompt, code := p.run("no\n", "delete-account")
	if code == 0 || !strings.Contains(prompt, "account alice (user "+id+")") {
		t.Errorf("delete-account: exit %d, prompt %q", code, prompt)
	}
}
