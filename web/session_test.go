package web_test

import (
	"os/exec"
	"path/filepath"
	"testing"
)

// The page's session (api.js): a refused or expiring access token is
// refreshed once, requests in flight share that refresh, and a refused
// refresh signs the page out. Node runs it against a stand-in fetch.
func TestSessionRefresh(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatal("node is not installed; the README's prerequisites list it")
	}
	out, err := exec.Command(node, "--test", filepath.Join("test", "session.test.mjs")).CombinedOutput()
	if err != nil {
		t.Fatalf("node --test: %v\n%s", err, out)
	}
	t.Logf("%s", out)
}
