package cli_test

import (
	"archive/zip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/voicerec/backend/internal/testenv"
	"github.com/voicerec/backend/internal/testenv/stack"
)

// export waits for the archive, downloads it under its dated name, and
// the archive holds every recording and the manifest.
func TestExportDownloadsTheArchive(t *testing.T) {
	s := stack.Start(t, testenv.Get(t), stack.Options{})
	p := newPerson(t, buildCLI(t), s)
	p.ok("login", "--dev", "frank")
	names := []string{"아침.wav", "evening.wav"}
	for i, n := range names {
		if err := os.WriteFile(filepath.Join(p.work, n), wav(700+i*100), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	p.ok(append([]string{"upload"}, names...)...)

	dir := t.TempDir()
	path := strings.TrimSpace(p.ok("export", "-o", dir))
	if filepath.Dir(path) != dir || !strings.HasPrefix(filepath.Base(path), "recordings-") || filepath.Ext(path) != ".zip" {
		t.Fatalf("export wrote %q", path)
	}
	if out, err := exec.Command("unzip", "-tq", path).CombinedOutput(); err != nil {
		t.Fatalf("unzip -t: %v\n%s", err, out)
	}
	zr, err := zip.OpenReader(path)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	got := map[string]bool{}
	for _, f := range zr.File {
		got[f.Name] = true
	}
	for _, n := range append(names, "manifest.json") {
		if !got[n] {
			t.Errorf("the archive lacks %s: %v", n, got)
		}
	}
	// A second export into the same folder on the same day refuses to
	// overwrite the first.
	p.fails("already exists", "export", "-o", dir)
}
