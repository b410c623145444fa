package cli_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/voicerec/backend/internal/testenv"
	"github.com/voicerec/backend/internal/testenv/stack"
)

// backup says what it passed over and why; content the server refused is
// reported once, then skipped, so a nightly run exits 0 when nothing new
// failed; --retry-refused tries it again.
func TestBackupReportsWhatItPassedOver(t *testing.T) {
	s := stack.Start(t, testenv.Get(t), stack.Options{})
	p := newPerson(t, buildCLI(t), s)
	p.ok("login", "--dev", "gina")
	dir := filepath.Join(p.work, "rec")
	fake := append([]byte("RIFF\x00\x01\x00\x00WAVE"), bytes.Repeat([]byte{0x5a}, 300)...)
	for name, data := range map[string][]byte{
		"good.wav": wav(600), "fake.wav": fake, "notes.txt": []byte("not audio"),
		".hidden.wav": wav(10), ".cache/x.wav": wav(10),
	} {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out, _, code := p.run("", "backup", dir)
	if code != 1 || !strings.Contains(out, "failed    "+filepath.Join(dir, "fake.wav")) {
		t.Errorf("first backup: exit %d, want 1 and fake.wav failed:\n%s", code, out)
	}
	if want := "passed over: 2 hidden, 1 not audio"; !strings.Contains(out, want) || strings.Contains(out, "notes.txt") {
		t.Errorf("first backup: want %q and no paths without -v:\n%s", want, out)
	}

	out, _, code = p.run("", "backup", "-v", dir)
	if code != 0 || !strings.Contains(out, "1 refused before") || strings.Contains(out, "failed    ") {
		t.Errorf("second backup: exit %d, want 0, the refusal counted and not failed again:\n%s", code, out)
	}
	for _, want := range []string{filepath.Join(dir, "notes.txt") + ": not audio", filepath.Join(dir, ".cache") + ": hidden", filepath.Join(dir, ".hidden.wav") + ": hidden"} {
		if !strings.Contains(out, want) {
			t.Errorf("backup -v does not list %q:\n%s", want, out)
		}
	}

	out, _, code = p.run("", "backup", "--retry-refused", dir)
	if code != 1 || !strings.Contains(out, "failed    "+filepath.Join(dir, "fake.wav")) {
		t.Errorf("backup --retry-refused: exit %d, want 1 and fake.wav tried again:\n%s", code, out)
	}
}
