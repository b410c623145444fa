package cli_test

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"sync"
	"testing"

	"github.com/voicerec/backend/internal/testenv"
	"github.com/voicerec/backend/internal/testenv/stack"
)

// requestCounter serves the API and counts the requests it passes by
// method and route.
type requestCounter struct {
	mu     sync.Mutex
	counts map[string]int
}

var recordingID = regexp.MustCompile(`/v1/recordings/[0-9A-HJKMNP-TV-Z]{26}`)

func (c *requestCounter) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.mu.Lock()
		c.counts[r.Method+" "+recordingID.ReplaceAllString(r.URL.Path, "/v1/recordings/{id}")]++
		c.mu.Unlock()
		h.ServeHTTP(w, r)
	})
}

func (c *requestCounter) count(route string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.counts[route]
}

// The CLI's upload of one file asks complete for the outcome right after
// its PUT; when complete answers available there is nothing to poll.
func TestUploadConfirmsWithoutPolling(t *testing.T) {
	bin := buildCLI(t)
	s := stack.Start(t, testenv.Get(t), stack.Options{})
	counter := &requestCounter{counts: map[string]int{}}
	proxy := httptest.NewServer(counter.wrap(s.Handler))
	t.Cleanup(proxy.Close)
	through := *s
	through.APIURL = proxy.URL
	carol := newPerson(t, bin, &through)
	carol.ok("login", "--dev", "carol")
	if err := os.WriteFile(filepath.Join(carol.work, "memo.m4a"), m4a(120_000), 0o644); err != nil {
		t.Fatal(err)
	}
	rows := uploaded(t, carol.ok("upload", "memo.m4a"))
	if rows["memo.m4a"][1] != "available" {
		t.Fatalf("upload printed %v", rows)
	}
	if n := counter.count("POST /v1/recordings/{id}/complete"); n != 1 {
		t.Errorf("%d completes, want 1", n)
	}
	if n := counter.count("GET /v1/recordings/{id}"); n != 0 {
		t.Errorf("%d polling GETs after complete answered available, want none", n)
	}
}
