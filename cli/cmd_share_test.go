package cli_test

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/voicerec/backend/internal/testenv"
	"github.com/voicerec/backend/internal/testenv/stack"
)

// share prints a link that plays without signing in, shares lists it,
// and unshare revokes it by a share id prefix or by the recording's name.
func TestShareUnshare(t *testing.T) {
	bin := buildCLI(t)
	s := stack.Start(t, testenv.Get(t), stack.Options{})
	alice, bob := newPerson(t, bin, s), newPerson(t, bin, s)
	alice.ok("login", "--dev", "alice")
	bob.ok("login", "--dev", "bob")
	if err := os.WriteFile(filepath.Join(alice.work, "lecture.wav"), wav(50_000), 0o644); err != nil {
		t.Fatal(err)
	}
	id := uploaded(t, alice.ok("upload", "lecture.wav"))["lecture.wav"][0]

	link := strings.TrimSpace(alice.ok("share", "lecture.wav", "--expires", "24h"))
	if !strings.HasPrefix(link, s.APIURL+"/s/") {
		t.Fatalf("share printed %q, want a link", link)
	}
	status := func() int {
		resp, err := http.Get(link)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := status(); got != http.StatusOK {
		t.Fatalf("the link answered %d", got)
	}
	listing := alice.ok("shares")
	lines := strings.Split(strings.TrimSpace(listing), "\n")
	if len(lines) != 2 || !strings.Contains(lines[1], id) || !strings.Contains(lines[1], "lecture.wav") {
		t.Fatalf("shares printed:\n%s", listing)
	}
	if exp := strings.Fields(lines[1])[3]; exp != time.Now().Add(24*time.Hour).Format("2006-01-02") {
		t.Errorf("the share expires %s, want in 24h", exp)
	}
	shareID := strings.Fields(lines[1])[0]

	bob.fails("no recording", "share", id)
	bob.fails("no recording", "unshare", "lecture.wav")
	alice.fails("--expires", "share", id, "--expires", "soon")
	alice.fails("720h", "share", id, "--expires", "1000h")

	alice.ok("unshare", shareID[:6])
	if got := status(); got != http.StatusNotFound {
		t.Errorf("after unshare the link answered %d", got)
	}
	link = strings.TrimSpace(alice.ok("share", id[:6]))
	alice.ok("unshare", "lecture.wav")
	if got := status(); got != http.StatusNotFound {
		t.Errorf("after unshare by name the link answered %d", got)
	}
	alice.fails("has no shares", "unshare", "lecture.wav")
}
