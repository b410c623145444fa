package cli

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// An API without a development issuer gets the provider login as its hint:
// `login --dev` would only be a usage error there.
func TestSignInHintFollowsTheProviders(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1/auth/providers" {
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(map[string]any{"providers": []map[string]any{{"name": "google"}, {"name": "apple"}}})
			return
		}
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte(`{"code":"unauthorized","title":"Unauthorized","status":401}`))
	}))
	t.Cleanup(srv.Close)
	_, errs, code := invocation(t, srv.URL, "ls")
	want := "run `recorder login --provider google|apple --id-token -` again"
	if code != ExitSignIn || !strings.Contains(errs, want) || strings.Count(strings.TrimSpace(errs), "\n") > 0 {
		t.Errorf("exit %d, stderr %q; want exit 3 and one line with %q", code, errs, want)
	}
}
