package api_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/voicerec/backend/internal/testenv"
	"github.com/voicerec/backend/internal/testenv/stack"
)

// The access log line is what an operator reads and what the dashboard
// plots: the latency in milliseconds (never more than the client itself
// waited), the route the request matched, and "unmatched" for a path no
// route serves, so a scan of random paths cannot make a metric per path.
func TestAccessLogRouteAndLatency(t *testing.T) {
	t.Parallel()
	s := stack.Start(t, testenv.Get(t), stack.Options{})
	c, _ := login(t, s, "logged")
	t0 := time.Now()
	wantStatus(t, c.do("GET", "/v1/recordings", nil), http.StatusOK)
	waited := float64(time.Since(t0).Microseconds()) / 1000
	wantStatus(t, newClient(t, s.APIURL, "").do("GET", "/v1/no-such-route", nil), http.StatusNotFound)

	var list, unmatched map[string]any
	for _, rec := range s.Logged("request") {
		switch {
		case rec["route"] == "/v1/recordings" && rec["method"] == "GET":
			list = rec
		case rec["status"] == float64(http.StatusNotFound):
			unmatched = rec
		}
	}
	if list == nil || unmatched == nil {
		t.Fatalf("access log lines missing: list %v, unmatched %v", list, unmatched)
	}
	if ms, _ := list["latency_ms"].(float64); ms <= 0 || ms > waited {
		t.Errorf("latency_ms %v, want more than 0 and at most the %.3f ms the client waited", list["latency_ms"], waited)
	}
	if ms, _ := list["Latency"].(float64); ms <= 0 || ms > waited {
		t.Errorf("metric Latency %v, want milliseconds within the %.3f the client waited", list["Latency"], waited)
	}
	if list["Route"] != "/v1/recordings" {
		t.Errorf("metric Route of the list: %v", list["Route"])
	}
	if unmatched["Route"] != "unmatched" {
		t.Errorf("metric Route of an unknown path: %v, want unmatched", unmatched["Route"])
	}
}

// A body of exactly MAX_BODY_BYTES is read (and judged on its content); one
// byte more is refused before it is read.
func TestBodyLimitIsInclusive(t *testing.T) {
	t.Parallel()
	s := stack.Start(t, testenv.Get(t), stack.Options{Env: map[string]string{"MAX_BODY_BYTES": "4096"}})
	c, _ := login(t, s, "body-limit")
	pad := func(n int) string {
		head := `{"file_name":"`
		tail := `"}`
		return head + strings.Repeat("a", n-len(head)-len(tail)) + tail
	}
	if r := c.do("POST", "/v1/recordings", pad(4096)); r.status == http.StatusRequestEntityTooLarge {
		t.Fatalf("a body of exactly the limit: %d %s", r.status, r.body)
	}
	wantProblem(t, c.do("POST", "/v1/recordings", pad(4097)), http.StatusRequestEntityTooLarge, "request_too_large")
}

// A failure of the server (500, 503, 504) is logged with its cause for
// operators (TestFaults checks those lines); a refusal of the client's
// request is not: it is in the access log, and a scan of bad requests must
// not page anyone.
func TestClientErrorsAreNotLoggedAsFailures(t *testing.T) {
	t.Parallel()
	s := stack.Start(t, testenv.Get(t), stack.Options{})
	c, _ := login(t, s, "refused")
	anon := newClient(t, s.APIURL, "")
	wantStatus(t, c.do("GET", "/v1/recordings/01J9Z3M0A1B2C3D4E5F6G7H8J9", nil), http.StatusNotFound)
	wantStatus(t, c.do("POST", "/v1/recordings", map[string]any{"file_name": "", "content_type": "audio/mp4", "size_bytes": 1}), http.StatusBadRequest)
	wantStatus(t, anon.do("GET", "/v1/me", nil), http.StatusUnauthorized)
	wantStatus(t, anon.do("GET", "/v1/no-such-route", nil), http.StatusNotFound)
	if failed := s.Logged("request failed"); len(failed) != 0 {
		t.Errorf("client errors logged as failures: %v", failed)
	}
	if len(s.Logged("request")) < 4 {
		t.Errorf("the access log misses requests: %s", s.Logs.String())
	}
}
