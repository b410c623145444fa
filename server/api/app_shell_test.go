package api_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// The delete dialog says how long the trash keeps a recording:
// config.json carries TRASH_RETENTION in whole days, and leaves it out
// below a day rather than promise "0 days".
func TestWebAppConfigTrashRetention(t *testing.T) {
	t.Parallel()
	for env, want := range map[string]int{"": 30, "72h": 3, "36h": 1, "12h": 0} {
		_, body := get(t, appServer(t, map[string]string{"TRASH_RETENTION": env}).URL+"/app/config.json")
		var cfg map[string]any
		if err := json.Unmarshal([]byte(body), &cfg); err != nil {
			t.Fatal(err)
		}
		got, ok := cfg["trash_retention_days"].(float64)
		if int(got) != want || ok != (want > 0) {
			t.Errorf("TRASH_RETENTION=%q: config.json %s, want %d days", env, body, want)
		}
	}
}

// What makes the page installable and able to open offline is served
// like the page: the manifest as JSON, the service worker as a script at
// /app/ (its scope), the views' modules from their folder.
func TestWebAppShellIsServed(t *testing.T) {
	t.Parallel()
	srv := appServer(t, nil)
	for path, ctype := range map[string]string{
		"/app/manifest.json":       "application/json",
		"/app/sw.js":               "text/javascript; charset=utf-8",
		"/app/views/recordings.js": "text/javascript; charset=utf-8",
		"/app/icon-192.png":        "image/png",
		"/app/icon.svg":            "image/svg+xml",
	} {
		resp, _ := get(t, srv.URL+path)
		if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), ctype) {
			t.Errorf("GET %s: %d %q, want 200 %s", path, resp.StatusCode, resp.Header.Get("Content-Type"), ctype)
		}
	}
	if resp, _ := get(t, srv.URL+"/app/views/"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET /app/views/: %d, want 404 (no listings)", resp.StatusCode)
	}
}
