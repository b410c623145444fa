package cli_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/voicerec/backend/internal/recording"
	"github.com/voicerec/backend/internal/search"
	"github.com/voicerec/backend/internal/testenv"
	"github.com/voicerec/backend/internal/testenv/stack"
)

// search finds by name and by what was said, printing each recording's id
// and the moments to seek to; --json is the API's results for scripts.
func TestSearchPrintsRecordingsAndMoments(t *testing.T) {
	s := stack.Start(t, testenv.Get(t), stack.Options{})
	p := newPerson(t, buildCLI(t), s)
	p.ok("login", "--dev", "sam")
	names := []string{"주간회의록.wav", "standup.wav"}
	for _, n := range names {
		if err := os.WriteFile(filepath.Join(p.work, n), wav(500), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	rows := uploaded(t, p.ok(append([]string{"upload"}, names...)...))
	minutes, standup := rows[names[0]][0], rows[names[1]][0]
	uid, ok, err := s.Store.UserIDByIdentity(context.Background(), recording.Identity{Provider: "dev", Subject: "sam"}.Key())
	if err != nil || !ok {
		t.Fatalf("user: %v %v", ok, err)
	}
	if err := s.Store.IndexTranscript(context.Background(), uid, standup, "ko-KR", []search.Segment{
		{StartMS: 0, EndMS: 4000, Text: "안녕하세요"},
		{StartMS: 65000, EndMS: 70000, Text: "회의록을\n공유하겠습니다"},
	}); err != nil {
		t.Fatal(err)
	}

	out := p.ok("search", "회의록")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], minutes+"  주간회의록.wav  ") ||
		!strings.HasPrefix(lines[1], standup+"  standup.wav  ") || lines[2] != "  1:05  회의록을 공유하겠습니다" {
		t.Errorf("search printed:\n%s", out)
	}
	var found []struct {
		ID      string `json:"id"`
		Matches []struct {
			Field string `json:"field"`
		} `json:"matches"`
	}
	if err := json.Unmarshal([]byte(p.ok("search", "--json", "공유")), &found); err != nil || len(found) != 1 ||
		found[0].ID != standup || found[0].Matches[0].Field != "transcript" {
		t.Errorf("search --json: %+v %v", found, err)
	}
	if out, errs, code := p.run("", "search", "nothing-here"); code != 0 || out != "" || errs != "nothing found for \"nothing-here\"\n" {
		t.Errorf("no result: exit %d, %q, %q", code, out, errs)
	}
	p.fails("usage", "search")
}
