package web_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// The page's pure helpers (format.js) under node's test runner, in a time
// zone that is not UTC.
func TestFormatHelpers(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatal("node is not installed; the README's prerequisites list it")
	}
	cmd := exec.Command(node, "--test", filepath.Join("test", "format.test.mjs"))
	cmd.Env = append(os.Environ(), "TZ=Asia/Seoul")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("node --test: %v\n%s", err, out)
	}
	t.Logf("%s", out)
}
