package api_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"

	"github.com/voicerec/backend/internal/testenv/stack"
)

// eventsFunction stands in for the events Lambda's Invoke API and keeps
// what it is sent; the test hands the payloads to the stack's events
// handler when it chooses, as Lambda would after an asynchronous invoke.
type eventsFunction struct {
	t        *testing.T
	mu       sync.Mutex
	payloads [][]byte
}

func (f *eventsFunction) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/2015-03-31/functions/events/invocations" {
		w.WriteHeader(http.StatusNotFound)
		return
	}
	if it := r.Header.Get("X-Amz-Invocation-Type"); it != "Event" {
		f.t.Errorf("invocation type %q, want Event (a rename does not wait for its reindex)", it)
	}
	raw, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	f.payloads = append(f.payloads, raw)
	f.mu.Unlock()
	w.WriteHeader(http.StatusAccepted)
}

// deliver runs every payload received so far through the events handler.
func (f *eventsFunction) deliver(s *stack.Stack) {
	f.mu.Lock()
	ps := f.payloads
	f.payloads = nil
	f.mu.Unlock()
	for _, p := range ps {
		if _, err := s.Events.Invoke(context.Background(), json.RawMessage(p)); err != nil {
			f.t.Fatalf("events function on %s: %v", p, err)
		}
	}
}

// Name search costs the API no DynamoDB round trip: a create is one call
// (its name is indexed at confirmation, on the events side), a rename one
// round trip (the session check's read beside its write) and an
// asynchronous invoke of the events function, which reindexes. Until it
// has, the old name finds nothing: search holds name matches to the
// current name.
func TestNameSearchKeepsCreateAndRenameAtOneRoundTrip(t *testing.T) {
	t.Parallel()
	fn := &eventsFunction{t: t}
	lambda := httptest.NewServer(fn)
	t.Cleanup(lambda.Close)
	s, calls := countedStack(t, stack.Options{Env: map[string]string{
		"EVENTS_FUNCTION_NAME": "events", "AWS_ENDPOINT_URL_LAMBDA": lambda.URL,
	}})
	c, _ := login(t, s, "namer")
	body := audioBytes("audio/mp4", 5000)

	before := calls.Load()
	up := c.create("Weekly planning.m4a", "audio/mp4", len(body))
	if n := calls.Load() - before; n != 1 {
		t.Errorf("a create made %d DynamoDB calls, want 1", n)
	}
	if got := c.search("planning", "&status=all").ids(); len(got) != 0 {
		t.Errorf("a pending recording is found by its name: %q", got)
	}
	// A pending recording renamed is reindexed at once, and still not
	// found by its name until it is confirmed.
	draft := c.create("Draft.m4a", "audio/mp4", len(body))
	wantStatus(t, c.do("PATCH", "/v1/recordings/"+draft.Recording.ID, map[string]any{"file_name": "Draft ideas.m4a"}), 200)
	fn.deliver(s)
	if got := c.search("ideas", "&status=all").ids(); len(got) != 0 {
		t.Errorf("a pending recording is found by its new name: %q", got)
	}
	putBytes(t, up, body)
	id := c.waitAvailable(up.Recording.ID).ID
	if got := c.search("planning", "").ids(); !slices.Equal(got, []string{id}) {
		t.Fatalf("after confirmation, its name finds %q, want %s", got, id)
	}

	before = calls.Load()
	wantStatus(t, c.do("PATCH", "/v1/recordings/"+id, map[string]any{"file_name": "Budget review.m4a"}), 200)
	if n := calls.Load() - before; n != 2 {
		t.Errorf("a rename made %d DynamoDB calls, want 2 made at once (one round trip)", n)
	}
	// Not reindexed yet: the old name's postings are still in the index.
	if got := c.search("planning", "").ids(); len(got) != 0 {
		t.Errorf("the old name still finds %q before the reindex", got)
	}
	fn.deliver(s)
	if got := c.search("planning", "").ids(); len(got) != 0 {
		t.Errorf("the old name finds %q after the reindex", got)
	}
	res := c.search("budget", "")
	if !slices.Equal(res.ids(), []string{id}) || len(res.Items[0].Matches) != 1 || res.Items[0].Matches[0].Snippet != "Budget review.m4a" {
		t.Errorf("the new name finds %+v", res.Items)
	}
}
