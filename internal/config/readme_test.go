package config_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// Every variable the configuration reads by name has a row in the README's
// configuration table (issue 17 found the in-flight upload cap missing from
// it). Variables built from a provider's name (OIDC_<NAME>_...) are rows of
// their own pattern and are not read by a literal name.
func TestREADMEConfigTableListsEveryVariable(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	start := strings.Index(string(readme), "## Configuration")
	if start < 0 {
		t.Fatal("README has no Configuration section")
	}
	section := string(readme)[start:]
	if end := strings.Index(section[1:], "\n## "); end > 0 {
		section = section[:end+1]
	}
	var rows []string
	for _, line := range strings.Split(section, "\n") {
		if strings.HasPrefix(line, "| `") {
			rows = append(rows, strings.SplitN(line, "|", 3)[1])
		}
	}
	read := regexp.MustCompile(`r\.\w+\("([A-Z][A-Z0-9_]*)"`)
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	found := 0
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range read.FindAllStringSubmatch(string(src), -1) {
			found++
			name := "`" + m[1] + "`"
			listed := false
			for _, r := range rows {
				if strings.Contains(r, name) {
					listed = true
					break
				}
			}
			if !listed {
				t.Errorf("%s reads %s, which has no row in the README's configuration table", f, m[1])
			}
		}
	}
	if found < 30 {
		t.Fatalf("found only %d variables read by name; the pattern no longer matches config.go", found)
	}
}
