package api_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/voicerec/backend/internal/testenv"
	"github.com/voicerec/backend/internal/testenv/stack"
)

type changeJSON struct {
	Seq       int64          `json:"seq"`
	Op        string         `json:"op"`
	ID        string         `json:"id"`
	Recording *recordingJSON `json:"recording"`
}

type changesJSON struct {
	Changes []changeJSON `json:"changes"`
	Cursor  string       `json:"cursor"`
	HasMore bool         `json:"has_more"`
}

// changes reads the whole feed after cursor, a page of limit at a time.
func (c *client) changes(cursor string, limit int) ([]changeJSON, string) {
	c.t.Helper()
	var all []changeJSON
	for {
		q := url.Values{"limit": {fmt.Sprint(limit)}}
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		r := c.do("GET", "/v1/changes?"+q.Encode(), nil)
		wantStatus(c.t, r, 200)
		var page changesJSON
		r.decode(c.t, &page)
		all = append(all, page.Changes...)
		cursor = page.Cursor
		if !page.HasMore {
			return all, cursor
		}
	}
}

// describe lists changes one a line, checking on the way that their seqs
// only grow (a seq is a time: its value is not the test's to predict).
func describe(cs []changeJSON) string {
	var lines []string
	for i, c := range cs {
		line := fmt.Sprintf("%s %s", c.Op, c.ID)
		if i > 0 && c.Seq <= cs[i-1].Seq {
			line = fmt.Sprintf("seq %d after %d: %s", c.Seq, cs[i-1].Seq, line)
		}
		if c.Recording != nil {
			line += " " + c.Recording.Status + " " + c.Recording.FileName
		}
		lines = append(lines, line)
	}
	return strings.Join(lines, "\n")
}

func TestChangeFeedFollowsTheUsersRecordings(t *testing.T) {
	t.Parallel()
	s := stack.Start(t, testenv.Get(t), stack.Options{})
	c, _ := login(t, s, "feed-follows")

	body := audioBytes("audio/mp4", 6000)
	up := c.create("a.m4a", "audio/mp4", len(body))
	putBytes(t, up, body)
	c.waitAvailable(up.Recording.ID)
	wantStatus(t, c.do("PATCH", "/v1/recordings/"+up.Recording.ID, map[string]any{"file_name": "b.m4a"}), 200)
	wantStatus(t, c.do("DELETE", "/v1/recordings/"+up.Recording.ID, nil), 200)
	wantStatus(t, c.do("POST", "/v1/recordings/"+up.Recording.ID+"/restore", nil), 200)
	wantStatus(t, c.do("DELETE", "/v1/recordings/"+up.Recording.ID+"?purge=true", nil), 200)

	got, cursor := c.changes("", 2)
	id := up.Recording.ID
	want := strings.Join([]string{
		"upsert " + id + " pending a.m4a",
		"upsert " + id + " available a.m4a",
		"upsert " + id + " available b.m4a",
		"upsert " + id + " deleted b.m4a",
		"upsert " + id + " available b.m4a",
		"remove " + id,
	}, "\n")
	if describe(got) != want {
		t.Fatalf("feed:\n%s\nwant:\n%s", describe(got), want)
	}

	// Up to date: an empty page and the same position.
	r := c.do("GET", "/v1/changes?cursor="+cursor, nil)
	wantStatus(t, r, 200)
	var page changesJSON
	r.decode(t, &page)
	if len(page.Changes) != 0 || page.HasMore || page.Cursor != cursor {
		t.Fatalf("an up-to-date poll: %s", r.body)
	}
	var latest changesJSON
	r = c.do("GET", "/v1/changes?from=latest", nil)
	wantStatus(t, r, 200)
	r.decode(t, &latest)
	if latest.Cursor != cursor || len(latest.Changes) != 0 {
		t.Fatalf("from=latest: %s, want cursor %s", r.body, cursor)
	}

	// A long poll answers as soon as a change arrives.
	done := make(chan result, 1)
	start := time.Now()
	go func() { done <- c.do("GET", "/v1/changes?wait=8s&cursor="+cursor, nil) }()
	time.Sleep(300 * time.Millisecond)
	next := c.create("c.m4a", "audio/mp4", 100)
	r = <-done
	wantStatus(t, r, 200)
	r.decode(t, &page)
	if len(page.Changes) != 1 || page.Changes[0].ID != next.Recording.ID || time.Since(start) > 5*time.Second {
		t.Fatalf("long poll after %s: %s", time.Since(start), r.body)
	}
	// With nothing new it answers empty when the wait ends.
	start = time.Now()
	r = c.do("GET", "/v1/changes?wait=1500ms&cursor="+page.Cursor, nil)
	wantStatus(t, r, 200)
	if d := time.Since(start); d < 1400*time.Millisecond || d > 4*time.Second {
		t.Fatalf("an empty long poll took %s", d)
	}
}

func TestChangeFeedRefusesOtherUsersCursorsAndBadQueries(t *testing.T) {
	t.Parallel()
	s := stack.Start(t, testenv.Get(t), stack.Options{})
	alice, _ := login(t, s, "feed-alice")
	bob, _ := login(t, s, "feed-bob")
	alice.create("a.m4a", "audio/mp4", 100)
	_, cursor := alice.changes("", 10)
	wantProblem(t, bob.do("GET", "/v1/changes?cursor="+cursor, nil), 400, "invalid_cursor")
	wantProblem(t, alice.do("GET", "/v1/changes?cursor=nonsense", nil), 400, "invalid_cursor")
	wantProblem(t, alice.do("GET", "/v1/changes?limit=501", nil), 400, "validation_failed")
	wantProblem(t, alice.do("GET", "/v1/changes?limit=0", nil), 400, "validation_failed")
	wantProblem(t, alice.do("GET", "/v1/changes?wait=21s", nil), 400, "validation_failed")
	wantProblem(t, alice.do("GET", "/v1/changes?from=latest&cursor="+cursor, nil), 400, "validation_failed")
	wantProblem(t, alice.do("GET", "/v1/changes?since=1", nil), 400, "invalid_request")
	wantProblem(t, newClient(t, s.APIURL, "").do("GET", "/v1/changes", nil), 401, "unauthorized")
	if got, _ := bob.changes("", 10); len(got) != 0 {
		t.Fatalf("bob sees changes: %s", describe(got))
	}
}

func TestChangeFeedExpiresAfterItsRetention(t *testing.T) {
	t.Parallel()
	clock := &stack.Clock{}
	s := stack.Start(t, testenv.Get(t), stack.Options{Clock: clock, Env: map[string]string{"CHANGES_RETENTION": "1h"}})
	c, _ := login(t, s, "feed-retention")
	c.create("a.m4a", "audio/mp4", 100)
	_, early := c.changes("", 10)
	c.create("b.m4a", "audio/mp4", 100)
	clock.Advance(61 * time.Minute)
	wantProblem(t, c.do("GET", "/v1/changes?cursor="+early, nil), http.StatusGone, "cursor_expired")
	wantProblem(t, c.do("GET", "/v1/changes", nil), http.StatusGone, "cursor_expired")
	// The way back: the latest cursor, then a full listing.
	r := c.do("GET", "/v1/changes?from=latest", nil)
	wantStatus(t, r, 200)
	var latest changesJSON
	r.decode(t, &latest)
	if got, _ := c.changes(latest.Cursor, 10); len(got) != 0 {
		t.Fatalf("changes after the latest cursor: %s", describe(got))
	}
}
