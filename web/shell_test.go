package web_test

import (
	"io/fs"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/voicerec/backend/web"
)

// The service worker can open the page offline only if it keeps every file
// the page loads: its SHELL list must name each embedded file (index.html
// as "./", where the API serves it), config.json, and nothing else. sw.js
// itself is left out; the browser keeps it.
func TestServiceWorkerKeepsTheWholeShell(t *testing.T) {
	src, err := os.ReadFile("sw.js")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?s)const SHELL = \[(.*?)\];`).FindSubmatch(src)
	if m == nil {
		t.Fatal("sw.js has no SHELL list")
	}
	var kept []string
	for _, q := range regexp.MustCompile(`'([^']*)'`).FindAllSubmatch(m[1], -1) {
		kept = append(kept, string(q[1]))
	}
	want := []string{"./", "config.json"}
	err = fs.WalkDir(web.Files, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || path == "sw.js" {
			return err
		}
		if path == "index.html" {
			return nil
		}
		want = append(want, path)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(kept)
	slices.Sort(want)
	if !slices.Equal(kept, want) {
		t.Errorf("sw.js keeps\n  %s\nthe page is\n  %s", strings.Join(kept, " "), strings.Join(want, " "))
	}
}
