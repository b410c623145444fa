package wire_test

import (
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

// TestArchitecturePageNamesEveryPackage holds docs/architecture.md's package
// map to the code: a package the map does not name, or a name the map keeps
// for a package that is gone, fails.
func TestArchitecturePageNamesEveryPackage(t *testing.T) {
	raw, err := os.ReadFile("../../docs/architecture.md")
	if err != nil {
		t.Fatal(err)
	}
	page := string(raw)
	start := strings.Index(page, "## The package map")
	end := strings.Index(page, "## The main flows")
	if start < 0 || end < start {
		t.Fatal("docs/architecture.md has no package map section before the flows")
	}
	named := map[string]bool{}
	for _, m := range regexp.MustCompile("`([a-z0-9/]+)`").FindAllStringSubmatch(page[start:end], -1) {
		named[m[1]] = true
	}
	cmd := exec.Command("go", "list", module+"...")
	cmd.Dir = "../.."
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	listed := map[string]bool{}
	for line := range strings.Lines(strings.TrimSpace(string(out))) {
		pkg := strings.TrimPrefix(strings.TrimSpace(line), module)
		listed[pkg] = true
		if !named[pkg] {
			t.Errorf("package %s is not in docs/architecture.md's package map", pkg)
		}
	}
	// A name under internal/ that is no package any more is a stale line.
	for name := range named {
		if strings.HasPrefix(name, "internal/") && !strings.HasSuffix(name, "/") && !listed[name] {
			t.Errorf("docs/architecture.md's package map names %s, which is not a package", name)
		}
	}
}
