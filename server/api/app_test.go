package api_test

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/voicerec/backend/internal/config"
	"github.com/voicerec/backend/internal/recorder"
	"github.com/voicerec/backend/internal/wire"
	"github.com/voicerec/backend/server/api"
)

// appServer serves the API with env as its configuration, Google enabled
// for the client ids in GOOGLE_CLIENT_IDS.
func appServer(t *testing.T, env map[string]string) *httptest.Server {
	t.Helper()
	getenv := func(k string) string { return env[k] }
	cfg, err := config.Load(getenv)
	if err != nil {
		t.Fatal(err)
	}
	v, err := wire.Verifier(cfg)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	srv := httptest.NewServer(api.New(api.Deps{Config: cfg, Log: log,
		Service: recorder.New(recorder.Deps{Config: cfg, Log: log, Verifier: v})}))
	t.Cleanup(srv.Close)
	return srv
}

func get(t *testing.T, url string) (*http.Response, string) {
	t.Helper()
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// The web companion is served from the binary at /app/: its three files
// with their types, a CSP that allows no inline script, and nothing else
// (no listing, no other path, no other method).
func TestWebAppIsServed(t *testing.T) {
	t.Parallel()
	srv := appServer(t, nil)
	for _, tc := range []struct{ path, ctype, contains string }{
		{"/app/", "text/html; charset=utf-8", `<script type="module" src="app.js">`},
		{"/app/app.js", "text/javascript; charset=utf-8", "/v1/auth/login"},
		{"/app/style.css", "text/css; charset=utf-8", "Noto Sans KR"},
	} {
		resp, body := get(t, srv.URL+tc.path)
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != tc.ctype || !strings.Contains(body, tc.contains) {
			t.Errorf("GET %s: %d %q, body has %q: %v", tc.path, resp.StatusCode, resp.Header.Get("Content-Type"), tc.contains, strings.Contains(body, tc.contains))
		}
		csp := resp.Header.Get("Content-Security-Policy")
		if !strings.Contains(csp, "script-src 'self' https://accounts.google.com/gsi/client;") || strings.Contains(csp, "unsafe") {
			t.Errorf("GET %s: CSP %q", tc.path, csp)
		}
		if resp.Header.Get("Cache-Control") != "no-cache" || resp.Header.Get("X-Request-Id") == "" {
			t.Errorf("GET %s: Cache-Control %q, X-Request-Id %q", tc.path, resp.Header.Get("Cache-Control"), resp.Header.Get("X-Request-Id"))
		}
	}
	if resp, _ := get(t, srv.URL+"/app"); resp.StatusCode != http.StatusMovedPermanently || resp.Header.Get("Location") != "/app/" {
		t.Errorf("GET /app: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	for _, p := range []string{"/app/missing.js", "/app/index.html", "/app/../go.mod", "/app/web.go", "/apps/"} {
		resp, body := get(t, srv.URL+p)
		if resp.StatusCode != http.StatusNotFound || resp.Header.Get("Content-Type") != "application/problem+json" || !strings.Contains(body, `"code"`) {
			t.Errorf("GET %s: %d %s %s", p, resp.StatusCode, resp.Header.Get("Content-Type"), body)
		}
	}
	resp, err := http.Head(srv.URL + "/app/app.js")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Security-Policy"), "default-src 'self'; script-src 'self' ") {
		t.Errorf("HEAD /app/app.js: %d, CSP %q", resp.StatusCode, resp.Header.Get("Content-Security-Policy"))
	}
	resp, err = http.Post(srv.URL+"/app/", "text/plain", strings.NewReader("x"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound || resp.Header.Get("Content-Type") != "application/problem+json" {
		t.Errorf("POST /app/: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
}

// Google sign-in is offered only with a web client the API accepts tokens
// for: WEB_GOOGLE_CLIENT_ID must also be one of GOOGLE_CLIENT_IDS.
func TestWebAppGoogleClient(t *testing.T) {
	t.Parallel()
	const web = "123-web.apps.googleusercontent.com"
	for _, tc := range []struct {
		name string
		env  map[string]string
		want string
	}{
		{"unset", map[string]string{"GOOGLE_CLIENT_IDS": web}, ""},
		{"accepted", map[string]string{"GOOGLE_CLIENT_IDS": "ios.apps.googleusercontent.com," + web, "WEB_GOOGLE_CLIENT_ID": web}, web},
		{"not accepted", map[string]string{"GOOGLE_CLIENT_IDS": "ios.apps.googleusercontent.com", "WEB_GOOGLE_CLIENT_ID": web}, ""},
		{"google disabled", map[string]string{"WEB_GOOGLE_CLIENT_ID": web}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := get(t, appServer(t, tc.env).URL+"/app/config.json")
			var cfg struct {
				GoogleClientID string `json:"google_client_id"`
			}
			if err := json.Unmarshal([]byte(body), &cfg); err != nil || resp.StatusCode != http.StatusOK {
				t.Fatalf("%d %s: %v", resp.StatusCode, body, err)
			}
			if cfg.GoogleClientID != tc.want {
				t.Errorf("google_client_id %q, want %q", cfg.GoogleClientID, tc.want)
			}
		})
	}
}
