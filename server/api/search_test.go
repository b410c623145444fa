package api_test

import (
	"context"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/voicerec/backend/internal/search"
	"github.com/voicerec/backend/internal/testenv"
	"github.com/voicerec/backend/internal/testenv/stack"
)

type searchJSON struct {
	Items []struct {
		ID       string `json:"id"`
		FileName string `json:"file_name"`
		Status   string `json:"status"`
		Download *struct {
			URL string `json:"url"`
		} `json:"download"`
		Matches []struct {
			Field   string `json:"field"`
			StartMS *int64 `json:"start_ms"`
			EndMS   *int64 `json:"end_ms"`
			Speaker string `json:"speaker"`
			Snippet string `json:"snippet"`
		} `json:"matches"`
	} `json:"items"`
	NextCursor string `json:"next_cursor"`
}

func (c *client) search(q, extra string) searchJSON {
	c.t.Helper()
	r := c.do("GET", "/v1/recordings?q="+url.QueryEscape(q)+extra, nil)
	wantStatus(c.t, r, 200)
	var out searchJSON
	r.decode(c.t, &out)
	return out
}

func (s searchJSON) ids() []string {
	var out []string
	for _, it := range s.Items {
		out = append(out, it.ID)
	}
	return out
}

// transcribe feeds a transcript straight into the index, as the transcript
// engine's completion does.
func transcribe(t *testing.T, s *stack.Stack, uid, id string, lines ...string) {
	t.Helper()
	segs := make([]search.Segment, len(lines))
	for i, l := range lines {
		segs[i] = search.Segment{StartMS: int64(i) * 5000, EndMS: int64(i+1) * 5000, Text: l, Speaker: "spk_0"}
	}
	if err := s.Store.IndexTranscript(context.Background(), uid, id, "", segs); err != nil {
		t.Fatal(err)
	}
}

// Korean and English queries find recordings by name and by what was said,
// only the caller's, never the trash unless asked, never a purged one.
func TestSearchFindsWhatWasSaid(t *testing.T) {
	t.Parallel()
	clock := &stack.Clock{}
	s := stack.Start(t, testenv.Get(t), stack.Options{Clock: clock, Env: map[string]string{"TRASH_RETENTION": "24h"}})
	c, uid := login(t, s, "searcher")
	other, otherUID := login(t, s, "someone-else")
	body := audioBytes("audio/mp4", 5000)

	minutes := c.upload("주간회의록.m4a", "audio/mp4", body)
	standup := c.upload("Standup.m4a", "audio/mp4", body)
	cafe := c.upload("Café notes.m4a", "audio/mp4", body)
	transcribe(t, s, uid, standup.ID,
		"Good morning everyone.",
		"오늘 회의록을 공유하겠습니다.",
		"The budget review moves to Friday.")
	transcribe(t, s, uid, cafe.ID, "주간회의는 목요일입니다. We met at the CAFÉ downtown.")
	theirs := other.upload("회의록 budget.m4a", "audio/mp4", body)
	transcribe(t, s, otherUID, theirs.ID, "회의록 budget café")

	for _, tc := range []struct {
		q    string
		want []string
	}{
		{"회의록", []string{minutes.ID, standup.ID}}, // the name first, then "회의록을" said
		{"회의", []string{minutes.ID, cafe.ID, standup.ID}},
		{"주간회의", []string{minutes.ID, cafe.ID}}, // a compound in the name and in speech
		{"BUDGET", []string{standup.ID}},
		{"cafe", []string{cafe.ID}}, // accents and case, in the name and in speech
		{"budget friday", []string{standup.ID}},
		{"budget 목요일", nil}, // every word must be found
		{"nothing-like-this", nil},
	} {
		if got := c.search(tc.q, "").ids(); !slices.Equal(got, tc.want) {
			t.Errorf("search %q: %q, want %q", tc.q, got, tc.want)
		}
	}
	if got := other.search("회의록 budget", "").ids(); !slices.Equal(got, []string{theirs.ID}) {
		t.Errorf("the other user finds %q, want only their own %s", got, theirs.ID)
	}

	// A transcript match says when it was said and shows it.
	res := c.search("budget", "&include=download_url")
	m := res.Items[0].Matches
	if len(m) != 1 || m[0].Field != "transcript" || m[0].StartMS == nil || *m[0].StartMS != 10000 || *m[0].EndMS != 15000 ||
		m[0].Snippet != "The budget review moves to Friday." || m[0].Speaker != "spk_0" || res.Items[0].Download == nil {
		t.Errorf("budget's match: %+v", res.Items[0])
	}
	if m := c.search("회의록", "").Items[0].Matches; len(m) != 1 || m[0].Field != "name" || m[0].Snippet != "주간회의록.m4a" || m[0].StartMS != nil {
		t.Errorf("a name match: %+v", m)
	}

	// The trash is searched only when asked.
	wantStatus(t, c.do("DELETE", "/v1/recordings/"+standup.ID, nil), 200)
	if got := c.search("budget", "").ids(); len(got) != 0 {
		t.Errorf("a trashed recording is found: %q", got)
	}
	if got := c.search("budget", "&status=all").ids(); len(got) != 0 {
		t.Errorf("status=all finds the trash: %q", got)
	}
	if got := c.search("budget", "&status=deleted").ids(); !slices.Equal(got, []string{standup.ID}) {
		t.Errorf("the trash's search: %q", got)
	}
	wantStatus(t, c.do("POST", "/v1/recordings/"+standup.ID+"/restore", nil), 200)
	if got := c.search("budget", "").ids(); !slices.Equal(got, []string{standup.ID}) {
		t.Errorf("restored, it is found again: %q", got)
	}

	// Purged: gone from every search, and out of the index.
	wantStatus(t, c.do("DELETE", "/v1/recordings/"+standup.ID+"?purge=true", nil), 200)
	for _, st := range []string{"available", "deleted", "all"} {
		if got := c.search("budget", "&status="+st).ids(); len(got) != 0 {
			t.Errorf("a purged recording is found (status=%s): %q", st, got)
		}
	}
	// The record goes once no URL issued for it can land: the reconciler
	// finishes it, and takes it out of the index.
	clock.Advance(s.Config.UploadURLTTL + s.Config.PendingUploadTTL + s.Config.UploadGrace + time.Minute)
	reconcileUntilQuiet(t, s)
	if n := searchItems(t, s, uid, standup.ID); n != 0 {
		t.Errorf("the purged recording left %d search items", n)
	}

	// A rename replaces the name's terms: the old name is not found even
	// before the reindex the rename asked for has run.
	wantStatus(t, c.do("PATCH", "/v1/recordings/"+cafe.ID, map[string]any{"file_name": "Roadmap.m4a"}), 200)
	if got := c.search("notes", "").ids(); len(got) != 0 {
		t.Errorf("the old name is still found: %q", got)
	}
	s.WaitReindexed()
	if got := c.search("roadmap", "").ids(); !slices.Equal(got, []string{cafe.ID}) {
		t.Errorf("the new name: %q", got)
	}
}

// searchItems counts the index items that name a recording.
func searchItems(t *testing.T, s *stack.Stack, uid, id string) int {
	t.Helper()
	n := 0
	for _, line := range strings.Split(scanTable(t, s, "search"), "\n") {
		if strings.Contains(line, uid) && strings.Contains(line, id) {
			n++
		}
	}
	return n
}

// A recording named by the words ranks above one where they were said
// often, which ranks above one where they were said once.
func TestSearchRanksNameThenFrequency(t *testing.T) {
	t.Parallel()
	s := stack.Start(t, testenv.Get(t), stack.Options{})
	c, uid := login(t, s, "ranker")
	body := audioBytes("audio/mp4", 5000)
	once := c.upload("a.m4a", "audio/mp4", body)
	often := c.upload("b.m4a", "audio/mp4", body)
	named := c.upload("Roadmap 로드맵.m4a", "audio/mp4", body)
	transcribe(t, s, uid, once.ID, "we should look at the roadmap later", "nothing else today")
	transcribe(t, s, uid, often.ID, "the roadmap, the roadmap", "again the roadmap and the 로드맵", "done")
	for _, q := range []string{"roadmap", "로드맵"} {
		want := []string{named.ID, often.ID, once.ID}
		if q == "로드맵" {
			want = want[:2]
		}
		if got := c.search(q, "").ids(); !slices.Equal(got, want) {
			t.Errorf("search %q ranks %q, want %q", q, got, want)
		}
	}
	// The moment holding the most of the query's words is shown first.
	res := c.search("roadmap 로드맵", "")
	if len(res.Items) != 2 || res.Items[1].ID != often.ID || *res.Items[1].Matches[0].StartMS != 5000 {
		t.Errorf("best moment: %+v", res.Items)
	}
}

func TestSearchRefusesWhatItCannotAnswer(t *testing.T) {
	t.Parallel()
	s := stack.Start(t, testenv.Get(t), stack.Options{})
	c, _ := login(t, s, "refused")
	for _, q := range []string{"q=", "q=%20%21", "q=x&cursor=abc", "q=a+b+c+d+e+f+g+h+i+j+k+l+m", "q=" + strings.Repeat("a", 501)} {
		wantProblem(t, c.do("GET", "/v1/recordings?"+q, nil), 400, "validation_failed")
	}
	wantProblem(t, c.do("GET", "/v1/recordings?q=a&q=b", nil), 400, "invalid_request")
}
