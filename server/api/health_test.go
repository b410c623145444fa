package api_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/voicerec/backend/internal/testenv"
	"github.com/voicerec/backend/server/api"
)

func TestReadyzFollowsDependencies(t *testing.T) {
	t.Parallel()
	env := testenv.StartPrivate(t) // this test stops emulators
	srv, _ := newAPI(t, env, nil)

	get := func() (*http.Response, api.Problem) {
		resp, err := http.Get(srv.URL + "/readyz")
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
