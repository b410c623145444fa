package cli_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/voicerec/backend/internal/testenv"
	"github.com/voicerec/backend/internal/testenv/stack"
)

// The CLI renews its session by itself when the access token expires,
// saving the new pair (mode 0600), lists the account's devices, and signs
// one or every other out.
func TestSessionsRefreshListAndRevoke(t *testing.T) {
	clock := &stack.Clock{}
	s := stack.Start(t, testenv.Get(t), stack.Options{Clock: clock, Env: map[string]string{"ACCESS_TOKEN_TTL": "1m"}})
	bin := buildCLI(t)
	laptop, desktop := newPerson(t, bin, s), newPerson(t, bin, s)
	laptop.ok("login", "--dev", "alice", "--device", "laptop")
	desktop.ok("login", "--dev", "alice", "--device", "desktop")
	before := laptop.config()
	if before["refresh_token"] == nil || before["session_id"] == nil {
		t.Fatalf("login kept no refresh token: %v", before)
	}

	clock.Advance(2 * time.Minute) // both access tokens expired
	laptop.ok("ls")
	after := laptop.config()
	if after["token"] == before["token"] || after["refresh_token"] == before["refresh_token"] {
		t.Fatalf("the renewed pair was not saved: %v", after)
	}
	laptop.ok("ls") // with the saved pair, no refresh needed

	out := desktop.ok("sessions")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 || !strings.Contains(out, "laptop") || !strings.Contains(out, "recorder CLI via dev") {
		t.Fatalf("sessions:\n%s", out)
	}
	for _, l := range lines[1:] {
		if strings.HasPrefix(l, "*") != strings.Contains(l, "desktop") {
			t.Errorf("the current session is not the one marked: %q", l)
		}
	}

	desktop.ok("sessions", "revoke", after["session_id"].(string))
	laptop.fails("recorder login", "ls")
	_, _, code := laptop.run("", "ls")
	if code != 3 {
		t.Errorf("ls on a revoked session: exit %d, want 3", code)
	}

	phone, _ := s.Login(t, "alice")
	desktop.ok("sessions", "revoke", "--others")
	if st := s.Call(t, phone, "GET", "/v1/recordings", nil, nil); st != http.StatusUnauthorized {
		t.Errorf("the phone's session answered %d after revoke --others", st)
	}
	desktop.ok("ls")
	desktop.fails("not both", "sessions", "revoke", "x", "--others")
}
