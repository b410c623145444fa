package cli_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/voicerec/backend/internal/testenv"
	"github.com/voicerec/backend/internal/testenv/stack"
)

// requestLine is one request --verbose logs: to the API or to storage.
var requestLine = regexp.MustCompile(`(?m)^  (GET|POST|PUT|PATCH|DELETE|HEAD) `)

// syncCounted runs sync with --verbose and answers its summary line and
// how many requests it made.
func (p *person) syncCounted(dir string) (string, int) {
	p.t.Helper()
	out, errs, code := p.run("", "-v", "sync", dir)
	if code != 0 {
		p.t.Fatalf("recorder sync %s: exit %d:\n%s\n%s", dir, code, out, errs)
	}
	return lastLine(out), len(requestLine.FindAllString(errs, -1))
}

func sameFile(t *testing.T, path string, want []byte) {
	t.Helper()
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s holds %d other bytes, want the %d synced", path, len(got), len(want))
	}
}

func absent(t *testing.T, path string) {
	t.Helper()
	if _, err := os.Lstat(path); err == nil {
		t.Fatalf("%s is still there", path)
	}
}

func digestOf(b []byte) string {
	sum := sha256.Sum256(b)
	return base64.StdEncoding.EncodeToString(sum[:])
}

// Two folders on two devices of one account: what happens on one reaches
// the other through the feed, and a run with nothing new is one request.
func TestSyncKeepsTwoFoldersInStep(t *testing.T) {
	bin := buildCLI(t)
	s := stack.Start(t, testenv.Get(t), stack.Options{})
	laptop, tablet := newPerson(t, bin, s), newPerson(t, bin, s)
	laptop.ok("login", "--dev", "dana")
	tablet.ok("login", "--dev", "dana")
	a, b := filepath.Join(laptop.home, "Recordings"), filepath.Join(tablet.home, "Recordings")

	// Recorded on the laptop, arriving on the tablet dated as recorded.
	memo := wav(20_000)
	write(t, filepath.Join(a, "memo.wav"), memo)
	recorded := time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)
	if err := os.Chtimes(filepath.Join(a, "memo.wav"), time.Time{}, recorded); err != nil {
		t.Fatal(err)
	}
	if sum, _ := laptop.syncCounted(a); !strings.Contains(sum, "1 uploaded, 0 downloaded") {
		t.Fatalf("first sync of the laptop: %s", sum)
	}
	if sum, _ := tablet.syncCounted(b); !strings.Contains(sum, "0 uploaded, 1 downloaded") {
		t.Fatalf("first sync of the tablet: %s", sum)
	}
	sameFile(t, filepath.Join(b, "memo.wav"), memo)
	if st, err := os.Stat(filepath.Join(b, "memo.wav")); err != nil || !st.ModTime().Equal(recorded) {
		t.Errorf("the tablet's copy is dated %v, want %v", st.ModTime(), recorded)
	}
	items := laptop.ls()
	if len(items) != 1 {
		t.Fatalf("the account holds %v", items)
	}
	id := items[0].ID

	// Nothing new on either side: the feed poll alone, on both devices.
	for _, d := range []struct {
		p   *person
		dir string
	}{{laptop, a}, {tablet, b}} {
		if sum, n := d.p.syncCounted(d.dir); n != 1 || !strings.Contains(sum, "0 uploaded, 0 downloaded, 0 renamed") {
			t.Errorf("sync of %s with nothing new made %d requests (%s), want 1", d.dir, n, sum)
		}
	}

	// A rename on the laptop renames the tablet's file.
	laptop.ok("rename", id, "memo (final).wav")
	tablet.syncCounted(b)
	absent(t, filepath.Join(b, "memo.wav"))
	sameFile(t, filepath.Join(b, "memo (final).wav"), memo)

	// Moved to the trash on the laptop: the tablet's copy goes to .trash,
	// and comes back with the restore.
	laptop.ok("rm", id)
	if sum, _ := tablet.syncCounted(b); !strings.Contains(sum, "1 moved to .trash") {
		t.Errorf("after rm: %s", sum)
	}
	absent(t, filepath.Join(b, "memo (final).wav"))
	sameFile(t, filepath.Join(b, ".trash", "memo (final).wav"), memo)
	laptop.ok("trash", "restore", id)
	if sum, _ := tablet.syncCounted(b); !strings.Contains(sum, "1 brought back") {
		t.Errorf("after trash restore: %s", sum)
	}
	absent(t, filepath.Join(b, ".trash", "memo (final).wav"))
	sameFile(t, filepath.Join(b, "memo (final).wav"), memo)

	// Changed on the tablet after it was backed up: a new recording, the
	// old one untouched.
	changed := wav(25_000)
	write(t, filepath.Join(b, "memo (final).wav"), changed)
	if sum, _ := tablet.syncCounted(b); !strings.Contains(sum, "1 uploaded") {
		t.Fatalf("after a local change: %s", sum)
	}
	var newID string
	for _, it := range tablet.ls() {
		switch {
		case it.ID == id && it.SHA256 != digestOf(memo):
			t.Errorf("the backed-up recording was overwritten: %+v", it)
		case it.ID != id && it.SHA256 == digestOf(changed):
			newID = it.ID
		}
	}
	if newID == "" {
		t.Fatalf("the changed file is no recording: %v", tablet.ls())
	}
	// The laptop takes the rename, then the new recording beside it.
	laptop.syncCounted(a)
	sameFile(t, filepath.Join(a, "memo (final).wav"), memo)
	sameFile(t, filepath.Join(a, "memo (final) ("+newID+").wav"), changed)

	// Purged on the laptop: the tablet's copy is kept, in .trash.
	laptop.ok("rm", "--purge", newID)
	tablet.syncCounted(b)
	absent(t, filepath.Join(b, "memo (final).wav"))
	sameFile(t, filepath.Join(b, ".trash", "memo (final).wav"), changed)

	// Changed on the tablet while the laptop trashed it: the change is
	// kept in place and backed up, not moved into .trash.
	late := wav(6000)
	write(t, filepath.Join(a, "late.wav"), late)
	laptop.syncCounted(a)
	tablet.syncCounted(b)
	sameFile(t, filepath.Join(b, "late.wav"), late)
	var lateID string
	for _, it := range laptop.ls() {
		if it.FileName == "late.wav" {
			lateID = it.ID
		}
	}
	edited := wav(7000)
	write(t, filepath.Join(b, "late.wav"), edited)
	laptop.ok("rm", lateID)
	if sum, _ := tablet.syncCounted(b); !strings.Contains(sum, "1 uploaded") || !strings.Contains(sum, "0 moved to .trash") {
		t.Errorf("a file changed here and trashed elsewhere: %s", sum)
	}
	sameFile(t, filepath.Join(b, "late.wav"), edited)
	absent(t, filepath.Join(b, ".trash", "late.wav"))

	// A copy of a synced file is not backed up twice, nor hashed and
	// looked up again on the next run.
	write(t, filepath.Join(b, "copies", "late copy.wav"), edited)
	if sum, _ := tablet.syncCounted(b); !strings.Contains(sum, "0 uploaded") {
		t.Errorf("a copy of a synced file: %s", sum)
	}
	if _, n := tablet.syncCounted(b); n != 1 {
		t.Errorf("a second run made %d requests, want 1", n)
	}
}

// A feed that no longer reaches back to the last sync answers 410; sync
// compares with a full listing instead and loses nothing.
func TestSyncResyncsWhenTheCursorExpired(t *testing.T) {
	bin := buildCLI(t)
	s := stack.Start(t, testenv.Get(t), stack.Options{Env: map[string]string{"CHANGES_RETENTION": "1s"}})
	laptop, tablet := newPerson(t, bin, s), newPerson(t, bin, s)
	laptop.ok("login", "--dev", "erin")
	tablet.ok("login", "--dev", "erin")
	a, b := filepath.Join(laptop.home, "Recordings"), filepath.Join(tablet.home, "Recordings")
	first, second := wav(8000), wav(9000)
	write(t, filepath.Join(a, "first.wav"), first)
	laptop.syncCounted(a)
	tablet.syncCounted(b)
	write(t, filepath.Join(a, "second.wav"), second)
	laptop.syncCounted(a)
	time.Sleep(2 * time.Second)
	out, errs, code := tablet.run("", "sync", b)
	if code != 0 || !strings.Contains(errs, "comparing with a full listing") || !strings.Contains(lastLine(out), "1 downloaded") {
		t.Fatalf("sync past the retention: exit %d\n%s\n%s", code, out, errs)
	}
	sameFile(t, filepath.Join(b, "first.wav"), first)
	sameFile(t, filepath.Join(b, "second.wav"), second)
}
