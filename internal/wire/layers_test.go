package wire_test

import (
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/voicerec/backend/"

// floors are the repository's layers, lowest first. A package imports only
// from floors below its own; within a floor only commands import each
// other, and of the operations only the service imports the Keeper (what
// converges never calls back into the operations).
var floors = []struct {
	name     string
	packages []string // a trailing "/" names every package under it
	sideways bool
}{
	{"domain", []string{"internal/recording", "internal/search"}, false},
	{"configuration", []string{"internal/config"}, false},
	{"adapters", []string{"internal/dynamo", "internal/s3", "internal/auth", "internal/providers", "internal/audio",
		"internal/metrics", "internal/awsclients",
		"internal/transcribe"}, false},
	{"operations", []string{"internal/recorder", "internal/lifecycle", "internal/export"}, false},
	{"composition root", []string{"internal/wire"}, false},
	// client/ is the CLI's typed API client: it stands with the commands it
	// serves and imports nothing under internal/ (client/imports_test.go).
	{"commands", []string{"server", "server/", "events", "internal/s3event", "internal/cmd/", "cli", "cli/", "client", "client/"}, true},
}

// allowedSideways are the imports within one floor that keep it readable.
var allowedSideways = map[string]bool{"internal/recorder -> internal/lifecycle": true}

// tooling is code that stands outside the floors: test harnesses, the local
// stack's helpers, benchmarks, infrastructure and the embedded web page.
var tooling = []string{"internal/testenv", "internal/testenv/", "internal/devstack", "internal/devissuer",
	"internal/devtranscribe",
	"bench", "bench/", "infra", "infra/", "web", "tools/",
	"web/share"}

func matches(pkg string, patterns []string) bool {
	for _, p := range patterns {
		if pkg == p || (strings.HasSuffix(p, "/") && strings.HasPrefix(pkg, p)) {
			return true
		}
	}
	return false
}

// floorOf is a package's floor index, -1 for tooling, -2 for a package
// nobody placed.
func floorOf(pkg string) int {
	// Tooling first: a tool under internal/cmd would be one, not a command.
	if matches(pkg, tooling) {
		return -1
	}
	for i, f := range floors {
		if matches(pkg, f.packages) {
			return i
		}
	}
	return -2
}

// TestImportsPointDown reads every package's imports (go list) and fails on
// an import from a higher floor, a sideways one, or a package no floor
// names.
func TestImportsPointDown(t *testing.T) {
	cmd := exec.Command("go", "list", "-f", `{{.ImportPath}}{{range .Imports}} {{.}}{{end}}`, module+"...")
	cmd.Dir = "../.."
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for line := range strings.Lines(strings.TrimSpace(string(out))) {
		fields := strings.Fields(line)
		pkg := strings.TrimPrefix(fields[0], module)
		from := floorOf(pkg)
		if from == -2 {
			t.Errorf("%s is on no floor: add it to floors (or tooling) in this test", pkg)
			continue
		}
		if from == -1 {
			continue
		}
		for _, imp := range fields[1:] {
			if !strings.HasPrefix(imp, module) {
				continue
			}
			imp = strings.TrimPrefix(imp, module)
			to := floorOf(imp)
			switch {
			case to == -1 && floors[from].name != "commands":
				t.Errorf("%s (%s) imports the tool %s", pkg, floors[from].name, imp)
			case to < 0:
			case to > from:
				t.Errorf("%s (%s) imports %s from a higher floor (%s)", pkg, floors[from].name, imp, floors[to].name)
			case to == from && !floors[from].sideways && !allowedSideways[pkg+" -> "+imp]:
				t.Errorf("%s imports %s sideways (both %s)", pkg, imp, floors[from].name)
			}
		}
	}
}
