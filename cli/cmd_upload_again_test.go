package cli_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/voicerec/backend/internal/testenv"
	"github.com/voicerec/backend/internal/testenv/stack"
)

// Uploading content already stored, under any name, says so and uploads
// nothing; --again makes the second copy on purpose.
func TestUploadOfStoredContentSaysSo(t *testing.T) {
	s := stack.Start(t, testenv.Get(t), stack.Options{})
	p := newPerson(t, buildCLI(t), s)
	p.ok("login", "--dev", "frank")
	data := wav(800)
	for _, n := range []string{"take.wav", "copy of take.wav"} {
		if err := os.WriteFile(filepath.Join(p.work, n), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	id := uploaded(t, p.ok("upload", "take.wav"))["take.wav"][0]
	for _, n := range []string{"take.wav", "copy of take.wav"} {
		out, errs, code := p.run("", "upload", n)
		if code != 0 || !strings.Contains(errs, n+": already backed up as "+id) || !strings.Contains(out, id) {
			t.Errorf("upload %s again: exit %d, stdout %q, stderr %q", n, code, out, errs)
		}
	}
	if got := p.ls(); len(got) != 1 {
		t.Fatalf("%d recordings after uploading the same content again, want 1", len(got))
	}
	if again := uploaded(t, p.ok("upload", "--again", "copy of take.wav"))["copy of take.wav"][0]; again == id || again == "" {
		t.Errorf("upload --again gave id %q", again)
	}
	if got := p.ls(); len(got) != 2 {
		t.Errorf("%d recordings after upload --again, want 2", len(got))
	}
}
