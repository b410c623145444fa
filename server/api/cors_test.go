package api_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/voicerec/backend/internal/testenv"
	"github.com/voicerec/backend/internal/testenv/stack"
)

// preflight sends what a browser sends before a cross-origin request.
func preflight(t *testing.T, url, origin, method, headers string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest("OPTIONS", url, nil)
	req.Header.Set("Origin", origin)
	req.Header.Set("Access-Control-Request-Method", method)
	if headers != "" {
		req.Header.Set("Access-Control-Request-Headers", headers)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

func corsHeaders(h http.Header) []string {
	var out []string
	for k := range h {
		if strings.HasPrefix(k, "Access-Control-") {
			out = append(out, k)
		}
	}
	return out
}

func hasToken(list, want string) bool {
	for _, v := range strings.Split(list, ",") {
		if strings.EqualFold(strings.TrimSpace(v), want) {
			return true
		}
	}
	return false
}

// A web app on a configured origin can sign in and call the API; any other
// origin gets no CORS headers at all.
func TestCORSForConfiguredOrigins(t *testing.T) {
	t.Parallel()
	const app = "https://app.example.com"
	s := stack.Start(t, testenv.Get(t), stack.Options{Env: map[string]string{"CORS_ALLOWED_ORIGINS": app + ",http://localhost:5173"}})
	for _, tc := range []struct{ path, method string }{{"/v1/auth/login", "POST"}, {"/v1/recordings", "POST"}, {"/v1/recordings/01J9Z3M0A1B2C3D4E5F6G7H8J9", "PATCH"}} {
		r := preflight(t, s.APIURL+tc.path, app, tc.method, "authorization, content-type, idempotency-key")
		h := r.Header
		if r.StatusCode != http.StatusNoContent || h.Get("Access-Control-Allow-Origin") != app ||
			!hasToken(h.Get("Access-Control-Allow-Methods"), tc.method) {
			t.Fatalf("preflight %s %s: %d %v", tc.method, tc.path, r.StatusCode, h)
		}
		for _, want := range []string{"Authorization", "Content-Type", "Idempotency-Key"} {
			if !hasToken(h.Get("Access-Control-Allow-Headers"), want) {
				t.Errorf("preflight %s: Allow-Headers %q lacks %s", tc.path, h.Get("Access-Control-Allow-Headers"), want)
			}
		}
		if !hasToken(strings.Join(h.Values("Vary"), ","), "Origin") {
			t.Errorf("preflight %s: Vary %q", tc.path, h.Values("Vary"))
		}
	}
	// Real requests, success and problem alike, expose what the app reads.
	for _, path := range []string{"/healthz", "/v1/me"} {
		req, _ := http.NewRequest("GET", s.APIURL+path, nil)
		req.Header.Set("Origin", app)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		exposed := resp.Header.Get("Access-Control-Expose-Headers")
		if resp.Header.Get("Access-Control-Allow-Origin") != app || !hasToken(exposed, "Retry-After") || !hasToken(exposed, "Idempotent-Replayed") {
			t.Errorf("GET %s from %s: %d %v", path, app, resp.StatusCode, resp.Header)
		}
	}
	// Unlisted origins, including look-alikes, get nothing.
	for _, origin := range []string{"https://evil.example", "https://app.example.com.evil.example", "http://app.example.com", "null"} {
		r := preflight(t, s.APIURL+"/v1/recordings", origin, "POST", "authorization")
		if got := corsHeaders(r.Header); len(got) > 0 {
			t.Errorf("origin %s got CORS headers %v", origin, got)
		}
	}
}

// Without CORS_ALLOWED_ORIGINS no origin gets CORS headers.
func TestNoCORSByDefault(t *testing.T) {
	t.Parallel()
	s := stack.Start(t, testenv.Get(t), stack.Options{})
	r := preflight(t, s.APIURL+"/v1/recordings", "https://app.example.com", "POST", "authorization")
	if got := corsHeaders(r.Header); len(got) > 0 {
		t.Errorf("CORS headers %v without configuration", got)
	}
}
