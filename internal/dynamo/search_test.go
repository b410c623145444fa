package dynamo_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/voicerec/backend/internal/dynamo"
	"github.com/voicerec/backend/internal/recording"
	"github.com/voicerec/backend/internal/search"
	"github.com/voicerec/backend/internal/testenv"
)

func searchFor(t *testing.T, s *dynamo.Store, uid, q string, statuses ...recording.Status) []dynamo.SearchResult {
	t.Helper()
	if len(statuses) == 0 {
		statuses = []recording.Status{recording.StatusAvailable}
	}
	got, err := s.Search(ctx, uid, dynamo.SearchRequest{Terms: search.QueryTerms(q), Statuses: statuses, Limit: 20}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// A guarded search reads the session beside its Queries (one per term) and
// its results in one BatchGetItem; indexing a name reads the name's old
// terms, then writes the postings and, last, the document.
func TestSearchRoundTrips(t *testing.T) {
	s, c, _ := countingStore(t)
	u := newUser(t, s, "search-trips")
	now := time.Now()
	if err := s.CreateSession(ctx, recording.Session{TokenHash: "h-search", UserID: u.ID, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	rec := availableRec(t, s, u.ID, 10, now)
	// Search holds a name match to the record's name: the record has it.
	if _, err := s.Rename(ctx, u.ID, rec.ID, "Budget review 예산.m4a"); err != nil {
		t.Fatal(err)
	}
	c.take()
	if err := s.IndexName(ctx, u.ID, rec.ID, "Budget review 예산.m4a"); err != nil {
		t.Fatal(err)
	}
	wantOps(t, c, "index a name", "GetItem", "BatchWriteItem", "BatchWriteItem")
	got, err := s.Search(guarded("h-search", u.ID, now), u.ID, dynamo.SearchRequest{
		Terms: search.QueryTerms("budget 예산"), Statuses: []recording.Status{recording.StatusAvailable}, Limit: 20,
	}, now)
	if err != nil || len(got) != 1 || got[0].Recording.ID != rec.ID || !got[0].Hit.InName {
		t.Fatalf("search: %+v %v", got, err)
	}
	wantOps(t, c, "search", "GetItem", "Query", "Query", "BatchGetItem")
	if _, err := s.Search(guarded("h-unknown", u.ID, now), u.ID, dynamo.SearchRequest{
		Terms: []string{"budget"}, Statuses: []recording.Status{recording.StatusAvailable}, Limit: 20,
	}, now); err != dynamo.ErrSessionInvalid {
		t.Fatalf("search on an unknown session: %v", err)
	}
}

// A transcript past one item's worth of segments is kept in chunks, its
// snippets come from the right one, a shorter transcript replaces it
// whole, and Unindex leaves nothing behind.
func TestIndexTranscriptChunksReplacesAndUnindexes(t *testing.T) {
	env := testenv.Get(t)
	cfg := env.Config(t, nil)
	s := dynamo.New(env.Provision(t, cfg).DynamoDB, cfg.TablePrefix)
	u := newUser(t, s, "search-chunks")
	rec := availableRec(t, s, u.ID, 10, time.Now())
	long := make([]search.Segment, 450) // three chunks
	for i := range long {
		long[i] = search.Segment{StartMS: int64(i) * 1000, EndMS: int64(i+1) * 1000, Text: fmt.Sprintf("filler words number%d", i)}
	}
	long[437].Text = "the quarterly 로드맵을 " + strings.Repeat("x", 5000) // over the stored bound
	if err := s.IndexTranscript(ctx, u.ID, rec.ID, "ko-KR", long); err != nil {
		t.Fatal(err)
	}
	got := searchFor(t, s, u.ID, "quarterly 로드맵")
	if len(got) != 1 || len(got[0].Hit.Segments) != 1 || got[0].Hit.Segments[0] != 437 {
		t.Fatalf("search in the third chunk: %+v", got)
	}
	if seg := got[0].Segments[437]; seg.StartMS != 437000 || !strings.HasPrefix(seg.Text, "the quarterly") || len(seg.Text) > 1200 {
		t.Errorf("segment 437: start %d, %d bytes", seg.StartMS, len(seg.Text))
	}

	if err := s.IndexTranscript(ctx, u.ID, rec.ID, "ko-KR", long[:3]); err != nil {
		t.Fatal(err)
	}
	if got := searchFor(t, s, u.ID, "quarterly"); len(got) != 0 {
		t.Errorf("a replaced transcript's words are still found: %+v", got)
	}
	if got := searchFor(t, s, u.ID, "number2"); len(got) != 1 {
		t.Errorf("the new transcript: %+v", got)
	}
	items := func() int {
		return strings.Count(testenv.DumpTable(t, s.Client(), dynamo.TableName(cfg.TablePrefix, dynamo.SearchTable)), rec.ID)
	}
	// filler, words, number0..2: 5 postings, the doc item and one chunk.
	if n := items(); n != 7 {
		t.Errorf("after replacing, %d items name the recording, want 7", n)
	}
	if err := s.Unindex(ctx, u.ID, rec.ID); err != nil {
		t.Fatal(err)
	}
	if n := items(); n != 0 {
		t.Errorf("after Unindex, %d items name the recording", n)
	}
}
