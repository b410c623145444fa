package client_test

import (
	"os/exec"
	"strings"
	"testing"
)

// The client and the CLI hold no more than an app does: the public API.
// Nothing under internal/ (the server's domain, its storage adapters, its
// configuration) may reach them, directly or through another package.
// Tests may import internal/ to start the stack; `go list -deps` without
// -test sees only what a build of the binary links.
func TestClientAndCLIImportNothingInternal(t *testing.T) {
	cmd := exec.Command("go", "list", "-deps", "./client/...", "./cli/...")
	cmd.Dir = ".." // the module's root
	out, err := cmd.Output()
	if err != nil {
		var stderr string
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("go list: %v\n%s", err, stderr)
	}
	pkgs := strings.Fields(string(out))
	if len(pkgs) < 20 || !contains(pkgs, "github.com/voicerec/backend/client") {
		t.Fatalf("go list named %d packages, not the client's deps:\n%s", len(pkgs), out)
	}
	for _, p := range pkgs {
		if strings.HasPrefix(p, "github.com/voicerec/backend/internal/") || p == "github.com/voicerec/backend/internal" {
			t.Errorf("%s is linked into the client or the CLI", p)
		}
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
