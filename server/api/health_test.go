package api_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/voicerec/backend/internal/testenv"
	"github.com/voicerec/backend/internal/testenv/stack"
	"github.com/voicerec/backend/server/api"
)

func TestReadyzFollowsDependencies(t *testing.T) {
	t.Parallel()
	env := testenv.StartPrivate(t) // this test stops emulators
	clock := &stack.Clock{}
	s := stack.Start(t, env, stack.Options{Clock: clock})

	get := func() (*http.Response, api.Problem) {
		// Past the last check's age, so this one is fresh.
		clock.Advance(api.ReadinessMaxAge)
		resp, err := http.Get(s.APIURL + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var p api.Problem
		_ = json.NewDecoder(resp.Body).Decode(&p)
		return resp, p
	}
	if resp, _ := get(); resp.StatusCode != http.StatusOK {
		t.Fatalf("readyz with both emulators up: %d", resp.StatusCode)
	}

	env.StopMinIO()
	resp, p := get()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("readyz without MinIO: %d, want 503", resp.StatusCode)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/problem+json" {
		t.Errorf("content type %q", ct)
	}
	if p.Code != "not_ready" || p.Checks["s3"] != "unavailable" || p.Checks["dynamodb"] != "ok" || p.Detail != "not ready: s3 unreachable" {
		t.Errorf("problem does not name s3 alone: %+v", p)
	}

	env.StopDynamoDB()
	if _, p := get(); p.Checks["dynamodb"] != "unavailable" || p.Detail != "not ready: dynamodb, s3 unreachable" {
		t.Errorf("problem does not name dynamodb: %+v", p)
	}
}

// /readyz is anonymous and each check costs a round of AWS calls: any
// number of callers within the interval cost one round, and callers that
// arrive together once it is over share the next one.
func TestReadyzHammeredWithinItsIntervalChecksOnce(t *testing.T) {
	t.Parallel()
	clock := &stack.Clock{}
	s, calls := countedStack(t, stack.Options{Clock: clock})
	hammer := func() int64 {
		before := calls.Load()
		var wg sync.WaitGroup
		for i := 0; i < 40; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				resp, err := http.Get(s.APIURL + "/readyz")
				if err != nil {
					t.Error(err)
					return
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					t.Errorf("readyz: %d", resp.StatusCode)
				}
			}()
		}
		wg.Wait()
		return calls.Load() - before
	}
	// The first check can meet DynamoDB Local busy creating the tables of
	// the tests running beside this one and answer 503 past its time
	// budget; what is measured here starts from a check that succeeded.
	var round int64
	for attempt := 0; ; attempt++ {
		before := calls.Load()
		resp, err := http.Get(s.APIURL + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		round = calls.Load() - before
		if resp.StatusCode == http.StatusOK {
			break
		}
		if attempt == 10 {
			t.Fatalf("readyz: %d after %d checks", resp.StatusCode, attempt+1)
		}
		clock.Advance(api.ReadinessMaxAge)
	}
	if round == 0 {
		t.Fatal("a readiness check made no DynamoDB call")
	}
	if n := hammer(); n != 0 {
		t.Errorf("40 readyz within the interval of a check made %d DynamoDB calls, want 0", n)
	}
	clock.Advance(api.ReadinessMaxAge)
	if n := hammer(); n != round {
		t.Errorf("40 readyz together after the interval made %d DynamoDB calls, want one round of %d", n, round)
	}
}

func TestHealthz(t *testing.T) {
	t.Parallel()
	srv, _ := newAPI(t, testenv.Get(t), nil)
	resp, err := http.Get(srv.URL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("healthz: %d", resp.StatusCode)
	}
}

// Whatever goes wrong at the HTTP level is a problem document with a code.
func TestProtocolErrorsAreProblems(t *testing.T) {
	t.Parallel()
	srv, _ := newAPI(t, testenv.Get(t), nil)
	cases := []struct {
		name, method, path, body string
		status                   int
		code                     string
	}{
		{"unknown route", "GET", "/no/such/route", "", 404, "route_not_found"},
		{"wrong method", "DELETE", "/healthz", "", 405, "method_not_allowed"},
		{"oversized body", "POST", "/healthz", strings.Repeat("x", 1<<20), 413, "request_too_large"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, srv.URL+tc.path, strings.NewReader(tc.body))
			resp := mustDo(t, req)
			var p api.Problem
			if err := json.NewDecoder(resp.Body).Decode(&p); err != nil {
				t.Fatalf("body is not JSON: %v", err)
			}
			if resp.StatusCode != tc.status || p.Status != tc.status || p.Code != tc.code {
				t.Errorf("got %d %+v, want %d %s", resp.StatusCode, p, tc.status, tc.code)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "application/problem+json" {
				t.Errorf("content type %q", ct)
			}
			if p.RequestID == "" || p.RequestID != resp.Header.Get("X-Request-Id") {
				t.Errorf("request id %q vs header %q", p.RequestID, resp.Header.Get("X-Request-Id"))
			}
		})
	}
}
